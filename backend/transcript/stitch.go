package transcript

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Piece is one chunk's result placed in the source: Offset and Duration are
// seconds from the start of the file.
type Piece struct {
	Offset   float64
	Duration float64
	Result   ChunkResult
}

// joinWindow is how close to a cut two segments must end and start for
// Stitch to treat them as one segment that the cut split.
const joinWindow = 0.5

// Stitch turns chunk results, in chunk order, into absolute segments:
// times shifted by each chunk's offset, words given to the segment that
// holds them, a segment split by a cut joined back, a word heard on both
// sides of a cut (the same word at overlapping times) kept once. A word
// said twice, at distinct times, stays twice.
func Stitch(pieces []Piece) []Segment {
	var out []Segment
	for _, p := range pieces {
		segs := place(p)
		if n := len(out); n > 0 && len(segs) > 0 {
			if dropEcho(out[n-1], &segs[0]) {
				segs = segs[1:]
			}
		}
		if len(segs) == 0 {
			continue
		}
		if n := len(out); n > 0 && splitByCut(out[n-1], segs[0], p.Offset) {
			out[n-1] = join(out[n-1], segs[0])
			segs = segs[1:]
		}
		out = append(out, segs...)
	}
	for i := range out {
		repair(&out[i])
	}
	for i := 1; i < len(out); i++ { // segments never run into the next one
		if out[i-1].End > out[i].Start {
			out[i-1].End = math.Max(out[i-1].Start, out[i].Start)
		}
	}
	return out
}

// FullText is the transcript's text: segment texts joined by spaces.
func FullText(segs []Segment) string {
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		if s.Text != "" {
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, " ")
}

// place shifts one chunk's result to absolute time and attaches its words to
// segments. A result with words but no segments gets one segment; a result
// with text only (timestamps off) spans the whole chunk.
func place(p Piece) []Segment {
	r := p.Result
	words := make([]Word, len(r.Words))
	for i, w := range r.Words {
		words[i] = Word{Word: w.Word, Start: w.Start + p.Offset, End: w.End + p.Offset}
	}
	var segs []Segment
	switch {
	case len(r.Segments) > 0:
		for _, s := range r.Segments {
			segs = append(segs, Segment{Start: s.Start + p.Offset, End: s.End + p.Offset, Text: s.Text, Words: []Word{}})
		}
	case len(words) > 0:
		segs = []Segment{{Start: words[0].Start, End: words[len(words)-1].End, Text: r.Text, Words: []Word{}}}
	case r.Text != "":
		return []Segment{{Start: p.Offset, End: p.Offset + p.Duration, Text: r.Text, Words: []Word{}}}
	default:
		return nil
	}
	for _, w := range words {
		i := segmentFor(segs, w)
		segs[i].Words = append(segs[i].Words, w)
	}
	return segs
}

// segmentFor picks the segment whose span holds the word's midpoint, or the
// nearest one.
func segmentFor(segs []Segment, w Word) int {
	mid := (w.Start + w.End) / 2
	best, bestDist := 0, math.Inf(1)
	for i, s := range segs {
		d := 0.0
		if mid < s.Start {
			d = s.Start - mid
		} else if mid > s.End {
			d = mid - s.End
		}
		if d < bestDist {
			best, bestDist = i, d
		}
	}
	return best
}

// splitByCut says whether prev (ending the previous chunk) and next
// (starting this one) look like one segment the cut at `cut` divided: both
// touch the cut and prev does not end a sentence.
func splitByCut(prev, next Segment, cut float64) bool {
	if cut-prev.End > joinWindow || next.Start-cut > joinWindow {
		return false
	}
	t := strings.TrimSpace(prev.Text)
	return t == "" || !strings.ContainsAny(t[len(t)-1:], ".?!。？！")
}

// dropEcho removes next's first word when it is prev's last word heard
// again across the cut: the same word at overlapping times. It reports
// whether next is left with nothing.
func dropEcho(prev Segment, next *Segment) bool {
	if len(prev.Words) == 0 || len(next.Words) == 0 {
		return false
	}
	last, first := prev.Words[len(prev.Words)-1], next.Words[0]
	if !sameWord(last.Word, first.Word) || first.Start >= last.End {
		return false
	}
	next.Words = next.Words[1:]
	if f := strings.Fields(next.Text); len(f) > 0 && sameWord(f[0], first.Word) {
		next.Text = strings.Join(f[1:], " ")
	}
	if len(next.Words) > 0 {
		next.Start = math.Max(next.Start, next.Words[0].Start)
	}
	return len(next.Words) == 0 && next.Text == ""
}

// sameWord compares words as heard: case and surrounding punctuation
// aside.
func sameWord(a, b string) bool {
	trim := func(s string) string {
		return strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	}
	return strings.EqualFold(trim(a), trim(b)) && trim(a) != ""
}

func join(a, b Segment) Segment {
	return Segment{
		Start: a.Start, End: math.Max(a.End, b.End),
		Text:  joinText(a.Text, b.Text),
		Words: append(a.Words, b.Words...),
	}
}

// joinText puts a space between two texts, none before punctuation that
// attaches to the word before it.
func joinText(a, b string) string {
	a, b = normalizeSpace(a), normalizeSpace(b)
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	if r, _ := utf8.DecodeRuneInString(b); strings.ContainsRune(",.;:!?)]}…%。、，！？", r) {
		return a + b
	}
	return a + " " + b
}

// repair makes every span run forwards: models sometimes emit a word that
// ends before it starts.
func repair(s *Segment) {
	for i := range s.Words {
		if s.Words[i].End < s.Words[i].Start {
			s.Words[i].End = s.Words[i].Start
		}
	}
	if n := len(s.Words); n > 0 {
		s.Start = math.Min(s.Start, s.Words[0].Start)
		s.End = math.Max(s.End, s.Words[n-1].End)
	}
	if s.End < s.Start {
		s.End = s.Start
	}
}
