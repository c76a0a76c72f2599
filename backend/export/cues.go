package export

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Subtitle conventions (the common broadcast and streaming guidelines).
// Cues are built from word timestamps so that each holds what was said
// while it is on screen.
const (
	// MaxLineChars is the most characters (runes) on one subtitle line.
	MaxLineChars = 42
	// MaxLines is the most lines in one cue.
	MaxLines = 2
	// MaxCueMillis is the longest a cue stays on screen.
	MaxCueMillis = 7000
	// MinCueMillis is how long a cue stays at least, where the next cue
	// and the end of the media leave room, so it can be read.
	MinCueMillis = 1000
	// MinGapMillis separates consecutive cues, so a viewer sees the text
	// change (two frames at 25 fps).
	MinGapMillis = 80
	// maxPauseMillis: a pause this long between two words ends the cue.
	maxPauseMillis = 1500
)

// cue is one subtitle: times in whole milliseconds, its lines, and who
// says them ("" when the transcript was not diarized).
type cue struct {
	start, end int64
	lines      []string
	speaker    string
}

func (c cue) text() string { return strings.Join(c.lines, "\n") }

// token is a unit of cue text with its time span in ms: a word, or a piece
// of a word too long for a line.
type token struct {
	text       string
	start, end int64
	speaker    string
}

// cues turns a transcript into subtitles that follow the conventions
// above and that every player accepts: sorted, every cue ends after it
// starts, at least MinGapMillis before the next begins. A cue never spans
// two segments or two speakers; within one it ends at a sentence end, a
// long pause, or when the next word would break a limit. With labels, the
// first cue after every change of speaker starts with "Label:" (the
// label counts towards the line, so the limits hold).
func cues(t transcript.Transcript, labels bool) []cue {
	var cs []cue
	prev := ""
	for _, s := range t.Segments {
		cs = append(cs, segmentCues(s, labels, &prev)...)
	}
	slices.SortStableFunc(cs, func(a, b cue) int { return cmp.Compare(a.start, b.start) })
	return retime(cs, millis(t.Duration))
}

// retime makes the times of sorted cues valid: starts pushed apart far
// enough for the previous cue to keep a millisecond and the gap, each cue
// stretched towards MinCueMillis (not past the media's end when that is
// known), capped at MaxCueMillis, and ended MinGapMillis before the next.
func retime(cs []cue, duration int64) []cue {
	for i := 1; i < len(cs); i++ {
		cs[i].start = max(cs[i].start, cs[i-1].start+1+MinGapMillis)
	}
	for i := range cs {
		c := &cs[i]
		c.end = max(c.end, c.start+1)
		stretch := c.start + MinCueMillis
		if i == len(cs)-1 && duration > c.start {
			stretch = min(stretch, duration)
		}
		c.end = min(max(c.end, stretch), c.start+MaxCueMillis)
		if i+1 < len(cs) {
			c.end = min(c.end, cs[i+1].start-MinGapMillis)
		}
	}
	return cs
}

// segmentCues packs one segment's tokens into cues. prev is the speaker
// of the token before the segment's first; with labels, a cue that starts
// with another speaker starts with that speaker's label.
func segmentCues(s transcript.Segment, labels bool, prev *string) []cue {
	toks := tokens(s)
	var out []cue
	var cur []token
	flush := func() {
		if len(cur) > 0 {
			lines, _ := wrap(cur)
			out = append(out, cue{start: cur[0].start, end: cur[len(cur)-1].end, lines: lines, speaker: cur[len(cur)-1].speaker})
			cur = nil
		}
	}
	for _, tk := range toks {
		if n := len(cur); n > 0 {
			last := cur[n-1]
			_, fits := wrap(append(cur[:n:n], tk))
			switch {
			case !fits,
				tk.speaker != last.speaker,
				tk.end-cur[0].start > MaxCueMillis,
				tk.start-last.end >= maxPauseMillis,
				endsSentence(last.text),
				endsClause(last.text) && width(cur) >= MaxLineChars:
				flush()
			}
		}
		if len(cur) == 0 && labels && tk.speaker != "" && tk.speaker != *prev {
			cur = append(cur, token{text: labelText(tk.speaker), start: tk.start, end: tk.start, speaker: tk.speaker})
		}
		cur = append(cur, tk)
		*prev = tk.speaker
	}
	flush()
	return out
}

// labelText is the prefix that names a speaker in subtitles and text:
// "Speaker 1:", white space folded, cut short to fit on a line.
func labelText(speaker string) string {
	l := []rune(fold(speaker))
	if len(l) > MaxLineChars-1 {
		l = append(l[:MaxLineChars-2], '…')
	}
	return string(l) + ":"
}

// fold is s with white space (line breaks too) folded to single spaces.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// segmentSpeaker is who says the segment: its own label, else that of its
// first word with one.
func segmentSpeaker(s transcript.Segment) string {
	if l := fold(s.Speaker); l != "" {
		return l
	}
	for _, w := range s.Words {
		if l := fold(w.Speaker); l != "" {
			return l
		}
	}
	return ""
}

// tokens are the segment's words with times in ms, each at most a line
// long. Words carry the times; when their text lost the punctuation or
// spelling the segment's text has, and the two still pair up one to one,
// the segment's spelling is shown. A segment without words (timestamps
// off) has its text spread over its span in proportion to length.
//
// Each token carries its word's speaker (the segment's for a word without
// one, and for a segment without words).
func tokens(s transcript.Segment) []token {
	fields := strings.Fields(strings.ReplaceAll(s.Text, "\uFEFF", ""))
	var toks []token
	if len(s.Words) > 0 {
		useText := len(fields) == len(s.Words)
		for i, w := range s.Words {
			text := strings.Join(strings.Fields(strings.ReplaceAll(w.Word, "\uFEFF", "")), " ")
			if useText {
				text = fields[i]
			}
			if text == "" {
				continue
			}
			start := millis(w.Start)
			who := fold(w.Speaker)
			if who == "" {
				who = fold(s.Speaker)
			}
			toks = append(toks, token{text: text, start: start, end: max(millis(w.End), start), speaker: who})
		}
	} else {
		toks = spread(fields, millis(s.Start), max(millis(s.End), millis(s.Start)))
		for i := range toks {
			toks[i].speaker = fold(s.Speaker)
		}
	}
	var out []token
	for _, tk := range toks {
		out = append(out, splitLong(tk)...)
	}
	return out
}

// spread gives words consecutive spans over [start, end] in proportion to
// their length.
func spread(words []string, start, end int64) []token {
	total := 0
	for _, w := range words {
		total += utf8.RuneCountInString(w) + 1
	}
	var out []token
	at := 0
	for _, w := range words {
		s := start + int64(math.Round(float64(end-start)*float64(at)/float64(total)))
		at += utf8.RuneCountInString(w) + 1
		e := start + int64(math.Round(float64(end-start)*float64(at)/float64(total)))
		out = append(out, token{text: w, start: s, end: e})
	}
	return out
}

// splitLong cuts a token longer than a line into line-sized pieces, times
// shared out in proportion (a URL, or text in a script without spaces).
func splitLong(tk token) []token {
	runes := []rune(tk.text)
	if len(runes) <= MaxLineChars {
		return []token{tk}
	}
	var pieces []string
	for len(runes) > 0 {
		n := min(len(runes), MaxLineChars)
		pieces = append(pieces, string(runes[:n]))
		runes = runes[n:]
	}
	out := spread(pieces, tk.start, tk.end)
	for i := range out {
		out[i].speaker = tk.speaker
	}
	return out
}

// wrap lays tokens out on at most MaxLines lines of at most MaxLineChars,
// balanced: of the ways to break, the one whose longer line is shortest
// (ties: the shorter line on top). It reports false when they do not fit.
func wrap(toks []token) ([]string, bool) {
	whole := join(toks)
	if utf8.RuneCountInString(whole) <= MaxLineChars {
		return []string{whole}, true
	}
	best, bestLen := -1, math.MaxInt
	for k := 1; k < len(toks); k++ {
		a, b := width(toks[:k]), width(toks[k:])
		if a > MaxLineChars || b > MaxLineChars {
			continue
		}
		if m := max(a, b); m < bestLen || m == bestLen && a <= b {
			best, bestLen = k, m
		}
	}
	if best < 0 {
		return hardWrap(whole), false
	}
	return []string{join(toks[:best]), join(toks[best:])}, true
}

// hardWrap is the last resort for text that cannot fit (never reached by
// segmentCues, which starts a new cue instead): lines cut at MaxLineChars.
func hardWrap(s string) []string {
	var lines []string
	r := []rune(s)
	for len(r) > 0 {
		n := min(len(r), MaxLineChars)
		lines = append(lines, strings.TrimSpace(string(r[:n])))
		r = r[n:]
	}
	return lines
}

func width(toks []token) int { return utf8.RuneCountInString(join(toks)) }

// join puts spaces between tokens, except between two characters of
// scripts written without them (Chinese, Japanese).
func join(toks []token) string {
	var b strings.Builder
	for i, tk := range toks {
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(toks[i-1].text)
			next, _ := utf8.DecodeRuneInString(tk.text)
			if !unspaced(prev) || !unspaced(next) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(tk.text)
	}
	return b.String()
}

func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) // CJK punctuation, full-width forms
}

func endsSentence(w string) bool {
	w = strings.TrimRight(w, `"'”’)]»`)
	return strings.HasSuffix(w, ".") || strings.HasSuffix(w, "?") || strings.HasSuffix(w, "!") ||
		strings.HasSuffix(w, "…") || strings.HasSuffix(w, "。") || strings.HasSuffix(w, "？") || strings.HasSuffix(w, "！")
}

func endsClause(w string) bool {
	return strings.HasSuffix(w, ",") || strings.HasSuffix(w, ";") || strings.HasSuffix(w, ":") ||
		strings.HasSuffix(w, "、") || strings.HasSuffix(w, "，")
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
// line endings, no byte-order mark. No cues means an empty file. A
// diarized transcript's cues start with "Speaker 1:" where the speaker
// changes.
func renderSRT(t transcript.Transcript) []byte {
	var b bytes.Buffer
	for i, c := range cues(t, true) {
		if i > 0 {
			b.WriteByte('\n')
		}
		// Some readers take any line with "-->" for a timing line. One pass
		// is not enough: "--->" becomes "-->".
		text := c.text()
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
// settings, each after one blank line. No cues means just the header. A
// diarized transcript's cues each start with a voice tag, "<v Speaker 1>"
// (one voice a cue, so no end tag).
func renderVTT(t transcript.Transcript) []byte {
	var b bytes.Buffer
	b.WriteString("WEBVTT\n")
	for _, c := range cues(t, false) {
		voice := ""
		if c.speaker != "" {
			voice = "<v " + vttEscaper.Replace(c.speaker) + ">"
		}
		fmt.Fprintf(&b, "\n%s --> %s\n%s%s\n", timestamp(c.start, '.'), timestamp(c.end, '.'), voice, vttEscaper.Replace(c.text()))
	}
	return b.Bytes()
}
