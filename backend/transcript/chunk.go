package transcript

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ChunkResult is what a model returned for one chunk. Times are seconds
// relative to the chunk's first sample.
type ChunkResult struct {
	Text     string    `json:"text"`
	Words    []Word    `json:"words,omitempty"`
	Segments []Segment `json:"segments,omitempty"` // Words empty; Stitch distributes them
}

// timestampsJSON is the TIMESTAMPS output of the model contract.
type timestampsJSON struct {
	Words    []Word `json:"words"`
	Segments []struct {
		Text  string  `json:"text"`
		Start float64 `json:"start"`
		End   float64 `json:"end"`
	} `json:"segments"`
}

// ParseChunk builds a ChunkResult from the contract's TRANSCRIPT text and
// TIMESTAMPS JSON. Empty timestamps (the model was asked for none) are fine.
func ParseChunk(text string, timestamps []byte) (ChunkResult, error) {
	r := ChunkResult{Text: normalizeSpace(text)}
	if len(strings.TrimSpace(string(timestamps))) == 0 {
		return r, nil
	}
	var ts timestampsJSON
	if err := json.Unmarshal(timestamps, &ts); err != nil {
		return ChunkResult{}, fmt.Errorf("model returned TIMESTAMPS that are not the contract's JSON: %w", err)
	}
	for _, w := range ts.Words {
		if !validSpan(w.Start, w.End) {
			return ChunkResult{}, fmt.Errorf("model returned word %q with times %v..%v", w.Word, w.Start, w.End)
		}
		r.Words = append(r.Words, Word{Word: strings.TrimSpace(w.Word), Start: w.Start, End: w.End})
	}
	for _, s := range ts.Segments {
		if !validSpan(s.Start, s.End) {
			return ChunkResult{}, fmt.Errorf("model returned segment %q with times %v..%v", s.Text, s.Start, s.End)
		}
		r.Segments = append(r.Segments, Segment{Start: s.Start, End: s.End, Text: normalizeSpace(s.Text)})
	}
	return r, nil
}

// validSpan accepts finite, non-negative times; an end before its start is
// repaired later (models do emit those), a NaN is not.
func validSpan(start, end float64) bool {
	return start == start && end == end && start >= 0 && end >= 0 && start < 1e7 && end < 1e7
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
