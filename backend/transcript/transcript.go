// Package transcript holds the value types every layer shares: words and
// segments with times in seconds, the per-chunk result a model returns, and
// the pure helpers that turn chunk results into one transcript.
package transcript

// Word is one recognised word. Times are seconds.
type Word struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Speaker is the label of the speaker who said the word (see
	// Transcript.Speakers); empty when the transcript was not diarized.
	Speaker string `json:"speaker,omitempty"`
}

// Segment is a run of words the model grouped together (a sentence, or for
// the dtmf test model a burst of key presses). Times are seconds.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	Words []Word  `json:"words"`
	// Speaker is the label of the one speaker of every word in the segment
	// (diarization splits a segment where the speaker changes); empty when
	// the transcript was not diarized.
	Speaker string `json:"speaker,omitempty"`
}

// Transcript is one source file's result; its JSON form is the public
// export schema (see README "JSON export").
type Transcript struct {
	Source   string    `json:"source"`   // the user's original path
	SHA256   string    `json:"sha256"`   // content hash of the source
	Duration float64   `json:"duration"` // seconds
	Model    string    `json:"model"`
	Text     string    `json:"text"`
	Segments []Segment `json:"segments"`
	// Speakers lists who speaks, in order of first appearance; nil when the
	// transcript was not diarized.
	Speakers []Speaker `json:"speakers,omitempty"`
}

// Speaker is one voice diarization found. ID stays fixed for the life of
// the transcript ("S1", "S2"…); Label is what words and segments carry and
// exports print ("Speaker 1" until the user renames it); Seconds is how
// long the speaker talks.
type Speaker struct {
	ID      string  `json:"id"`
	Label   string  `json:"label"`
	Seconds float64 `json:"seconds"`
}
