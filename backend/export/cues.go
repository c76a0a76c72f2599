package export

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// minDisplay is how long a cue stays on screen at least, in milliseconds,
// unless the next cue starts sooner.
const minDisplay = 500

// cue is one subtitle: times in whole milliseconds, text without blank
// lines.
type cue struct {
	start, end int64
	text       string
}

// cues turns segments into subtitles, one cue per segment, with times every
// player accepts: sorted, each cue ends after it starts, no cue overlaps the
// next (an end is clipped to the next start), and a short cue is stretched
// to minDisplay where the next cue and the end of the media leave room.
// Segments without text are dropped; a blank line would end the cue early.
func cues(t transcript.Transcript) []cue {
	var cs []cue
	for _, s := range t.Segments {
		text := cleanText(s.Text, "\n")
		if text == "" {
			continue
		}
		start, end := millis(s.Start), millis(s.End)
		cs = append(cs, cue{start: start, end: max(end, start), text: text})
	}
	slices.SortStableFunc(cs, func(a, b cue) int { return cmp.Compare(a.start, b.start) })

	// Cues that start together are moved apart by a millisecond each, so
	// every cue keeps at least a millisecond of its own.
	for i := 1; i < len(cs); i++ {
		cs[i].start = max(cs[i].start, cs[i-1].start+1)
	}
	duration := millis(t.Duration)
	for i := range cs {
		c := &cs[i]
		stretch := c.start + minDisplay
		if i == len(cs)-1 && duration > c.start {
			stretch = min(stretch, duration) // not past the end of the media
		}
		c.end = max(c.end, stretch)
		if i+1 < len(cs) {
			c.end = min(c.end, cs[i+1].start)
		}
	}
	return cs
}

// maxMillis caps absurd times (about 285 years) so they cannot overflow.
const maxMillis = 1 << 53

// millis rounds seconds to whole milliseconds; negative and NaN become 0.
func millis(sec float64) int64 {
	ms := math.Round(sec * 1000)
	switch {
	case !(ms > 0): // also NaN
		return 0
	case ms > maxMillis:
		return maxMillis
	}
	return int64(ms)
}

// timestamp formats ms as HH:MM:SS<sep>mmm; hours grow past two digits if
// they must.
func timestamp(ms int64, sep byte) string {
	h := ms / 3_600_000
	m := ms / 60_000 % 60
	s := ms / 1000 % 60
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", h, m, s, sep, ms%1000)
}

// cleanText normalises line breaks, trims every line, drops empty lines
// and joins the rest with sep.
func cleanText(s, sep string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimFunc(line, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
		if line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, sep)
}

// renderSRT writes SubRip: numbered cues separated by one blank line, LF
// line endings, no byte-order mark. No cues means an empty file.
func renderSRT(t transcript.Transcript) []byte {
	var b bytes.Buffer
	for i, c := range cues(t) {
		if i > 0 {
			b.WriteByte('\n')
		}
		// Some readers take any line with "-->" for a timing line. One pass
		// is not enough: "--->" becomes "-->".
		text := c.text
		for strings.Contains(text, "-->") {
			text = strings.ReplaceAll(text, "-->", "->")
		}
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n", i+1, timestamp(c.start, ','), timestamp(c.end, ','), text)
	}
	return b.Bytes()
}

// vttEscaper escapes the characters WebVTT cue text reserves for markup;
// it also keeps "-->" out of the text.
var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// renderVTT writes WebVTT: the header, then cues without identifiers or
// settings, each after one blank line. No cues means just the header.
func renderVTT(t transcript.Transcript) []byte {
	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	for _, c := range cues(t) {
		fmt.Fprintf(&b, "\n%s --> %s\n%s\n", timestamp(c.start, '.'), timestamp(c.end, '.'), vttEscaper.Replace(c.text))
	}
	return b.Bytes()
}

// renderTXT writes the text, one segment per line, ending with a newline.
// A transcript without segments falls back to its Text; no text at all
// means an empty file.
func renderTXT(t transcript.Transcript) []byte {
	var lines []string
	for _, s := range t.Segments {
		if line := cleanText(s.Text, " "); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		if text := cleanText(t.Text, "\n"); text != "" {
			lines = append(lines, text)
		}
	}
	if len(lines) == 0 {
		return []byte{}
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}
