// Package dtmf finds DTMF key presses in audio and synthesises them.
//
// It is the signal processing behind the test server's "dtmf" model: a
// stand-in for speech recognition whose ground truth is exact. A test writes
// key presses at known times with Synthesize, sends the audio through the
// whole pipeline and checks that the same keys come back at the same times.
//
// Detection runs in two passes. A coarse pass classifies overlapping frames
// (25 ms Hann window, 10 ms hop) with the Goertzel algorithm on the eight
// DTMF frequencies, using energy ratios (tone power against total frame
// power, row against column power, best against second-best tone) so that
// broadband noise and single tones are not taken for keys. A fine pass then
// measures the amplitude of the key's two tones with a 10 ms moving average
// at a 0.5 ms step and places start and end where that amplitude crosses
// half its plateau, which is where the tone begins and ends.
package dtmf

import "strings"

// Press is one key press. Start and End are seconds from the first sample.
type Press struct {
	Key   rune
	Start float64
	End   float64
}

// Segment is a run of presses with no gap of SegmentGap or more inside it.
// Text is the keys separated by single spaces.
type Segment struct {
	Text    string
	Start   float64
	End     float64
	Presses []Press
}

const (
	// MinPress is the shortest press Detect reports, in seconds.
	MinPress = 0.040
	// SegmentGap is the silence, in seconds, that ends a segment.
	SegmentGap = 1.0
)

// The standard DTMF frequencies in Hz: a key sounds its row's and its
// column's together.
var (
	rowFreqs = [4]float64{697, 770, 852, 941}
	colFreqs = [4]float64{1209, 1336, 1477, 1633}
)

// Keys lists the keys by row and column of the DTMF matrix.
const Keys = "123A456B789C*0#D"

// Freqs returns the row and column frequencies of key; ok is false for a
// rune that is not one of Keys.
func Freqs(key rune) (row, col float64, ok bool) {
	i := strings.IndexRune(Keys, key)
	if i < 0 {
		return 0, 0, false
	}
	return rowFreqs[i/4], colFreqs[i%4], true
}

// Segments groups presses (in time order) into segments split at gaps of
// SegmentGap or more between the end of one press and the start of the next.
func Segments(presses []Press) []Segment {
	var out []Segment
	for i, p := range presses {
		if i == 0 || p.Start-presses[i-1].End >= SegmentGap {
			out = append(out, Segment{Start: p.Start})
		}
		s := &out[len(out)-1]
		if len(s.Presses) > 0 {
			s.Text += " "
		}
		s.Text += string(p.Key)
		s.End = p.End
		s.Presses = append(s.Presses, p)
	}
	return out
}

// Text returns the keys of presses separated by single spaces.
func Text(presses []Press) string {
	var b strings.Builder
	for i, p := range presses {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(p.Key)
	}
	return b.String()
}
