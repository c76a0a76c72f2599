package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// The JSON export mirrors transcript's types field for field; the copies
// exist only to round times to milliseconds and to write empty lists as [].
// The speaker fields are there only for a diarized transcript, so one that
// is not comes out as it always did.
type jsonTranscript struct {
	Source   string        `json:"source"`
	SHA256   string        `json:"sha256"`
	Duration seconds       `json:"duration"`
	Model    string        `json:"model"`
	Text     string        `json:"text"`
	Speakers []jsonSpeaker `json:"speakers,omitempty"`
	Segments []jsonSegment `json:"segments"`
}

type jsonSpeaker struct {
	ID      string  `json:"id"`
	Label   string  `json:"label"`
	Seconds seconds `json:"seconds"`
}

type jsonSegment struct {
	Start   seconds    `json:"start"`
	End     seconds    `json:"end"`
	Text    string     `json:"text"`
	Speaker string     `json:"speaker,omitempty"`
	Words   []jsonWord `json:"words"`
}

type jsonWord struct {
	Word    string  `json:"word"`
	Start   seconds `json:"start"`
	End     seconds `json:"end"`
	Speaker string  `json:"speaker,omitempty"`
}

// seconds is a time that marshals rounded to the millisecond, with no
// trailing zeros: 1.5, 62.125, 0.
type seconds float64

func (s seconds) MarshalJSON() ([]byte, error) {
	v := float64(s)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("time %v is not a number of seconds", v)
	}
	v = math.Round(v*1000)/1000 + 0 // + 0 turns -0 into 0
	return strconv.AppendFloat(nil, v, 'f', -1, 64), nil
}

func renderJSON(t transcript.Transcript) ([]byte, error) {
	out := jsonTranscript{
		Source:   t.Source,
		SHA256:   t.SHA256,
		Duration: seconds(t.Duration),
		Model:    t.Model,
		Text:     t.Text,
		Segments: make([]jsonSegment, 0, len(t.Segments)),
	}
	for _, sp := range t.Speakers {
		out.Speakers = append(out.Speakers, jsonSpeaker{ID: sp.ID, Label: sp.Label, Seconds: seconds(sp.Seconds)})
	}
	for _, s := range t.Segments {
		js := jsonSegment{
			Start:   seconds(s.Start),
			End:     seconds(s.End),
			Text:    s.Text,
			Speaker: s.Speaker,
			Words:   make([]jsonWord, 0, len(s.Words)),
		}
		for _, w := range s.Words {
			js.Words = append(js.Words, jsonWord{Word: w.Word, Start: seconds(w.Start), End: seconds(w.End), Speaker: w.Speaker})
		}
		out.Segments = append(out.Segments, js)
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)                // "rock & roll", not "rock \u0026 roll"
	if err := enc.Encode(out); err != nil { // Encode ends with a newline
		return nil, fmt.Errorf("rendering JSON: %w", err)
	}
	return buf.Bytes(), nil
}
