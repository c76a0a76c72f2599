// Package transcript holds the value types every layer shares: words and
// segments with times in seconds, the per-chunk result a model returns, and
// the pure helpers that turn chunk results into one transcript.
package transcript

// Word is one recognised word. Times are seconds.
type Word struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Segment is a run of words the model grouped together (a sentence, or for
// the dtmf test model a burst of key presses). Times are seconds.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	Words []Word  `json:"words"`
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
}
