package diarize

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Attribute returns a copy of t in which every word and segment carries a
// speaker label from r, a segment is split wherever the speaker changes
// between two of its words, and Speakers lists r's speakers.
//
// A word goes to the speaker whose turns overlap it most (ties to the
// earlier turn); a word that no turn touches (it lies in an unknown span,
// or between turns) borrows the speaker of the nearest turn, the earlier
// one on a tie. A segment without words is treated as one word spanning
// the segment. When r has no turns at all (no embeddings, e.g. silence),
// everything is one speaker. t itself is not modified; its Text stays as
// it is, since splitting segments changes no words.
func Attribute(t transcript.Transcript, r Result) transcript.Transcript {
	speakers := slices.Clone(r.Speakers)
	ts := r.Turns
	if len(ts) == 0 {
		var secs float64
		for _, s := range t.Segments {
			secs += math.Max(s.End-s.Start, 0)
		}
		speakers = []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: secs}}
		ts = []Turn{{Start: math.Inf(-1), End: math.Inf(1), Speaker: 0}}
	}
	label := func(i int) string {
		if i >= 0 && i < len(speakers) {
			return speakers[i].Label
		}
		return "Speaker " + strconv.Itoa(i+1)
	}

	out := t
	out.Speakers = speakers
	out.Segments = make([]transcript.Segment, 0, len(t.Segments))
	for _, seg := range t.Segments {
		if len(seg.Words) == 0 {
			s := seg
			s.Words = slices.Clone(seg.Words)
			s.Speaker = label(speakerAt(ts, seg.Start, seg.End))
			out.Segments = append(out.Segments, s)
			continue
		}
		words := make([]transcript.Word, len(seg.Words))
		who := make([]int, len(seg.Words))
		for i, w := range seg.Words {
			who[i] = speakerAt(ts, w.Start, w.End)
			w.Speaker = label(who[i])
			words[i] = w
		}
		// Runs of one speaker become segments; the text follows the words
		// when it has one field per word, or is rebuilt from them.
		fields := strings.Fields(seg.Text)
		byField := len(fields) == len(words)
		for lo := 0; lo < len(words); {
			hi := lo + 1
			for hi < len(words) && who[hi] == who[lo] {
				hi++
			}
			if lo == 0 && hi == len(words) {
				s := seg
				s.Words, s.Speaker = words, label(who[0])
				out.Segments = append(out.Segments, s)
				break
			}
			s := transcript.Segment{
				Start: words[lo].Start, End: words[hi-1].End,
				Words: words[lo:hi:hi], Speaker: label(who[lo]),
			}
			if lo == 0 {
				s.Start = math.Min(seg.Start, s.Start)
			}
			if hi == len(words) {
				s.End = math.Max(seg.End, s.End)
			}
			if byField {
				s.Text = strings.Join(fields[lo:hi], " ")
			} else {
				parts := make([]string, 0, hi-lo)
				for _, w := range words[lo:hi] {
					parts = append(parts, w.Word)
				}
				s.Text = strings.Join(parts, " ")
			}
			out.Segments = append(out.Segments, s)
			lo = hi
		}
	}
	return out
}

// speakerAt is the speaker for the time span [start, end]: the one whose
// turns overlap it most, or else the one of the nearest turn. ts is in
// time order and not empty.
func speakerAt(ts []Turn, start, end float64) int {
	if end < start {
		end = start
	}
	// The first turn that ends after start.
	i, _ := slices.BinarySearchFunc(ts, start, func(t Turn, x float64) int {
		if t.End <= x {
			return -1
		}
		return 1
	})
	if end > start {
		best, bestOver := Unknown, 0.0
		var over map[int]float64
		for j := i; j < len(ts) && ts[j].Start < end; j++ {
			o := math.Min(end, ts[j].End) - math.Max(start, ts[j].Start)
			if o <= 0 {
				continue
			}
			if over == nil {
				over = map[int]float64{}
			}
			over[ts[j].Speaker] += o
			if v := over[ts[j].Speaker]; v > bestOver {
				best, bestOver = ts[j].Speaker, v
			}
		}
		if best != Unknown {
			return best
		}
	} else if i < len(ts) && ts[i].Start <= start {
		return ts[i].Speaker
	}
	// Nothing overlaps: the nearest turn, before (ts[i-1]) or after (ts[i]).
	mid := (start + end) / 2
	switch {
	case i == 0:
		return ts[0].Speaker
	case i == len(ts):
		return ts[len(ts)-1].Speaker
	}
	if mid-ts[i-1].End <= ts[i].Start-mid {
		return ts[i-1].Speaker
	}
	return ts[i].Speaker
}
