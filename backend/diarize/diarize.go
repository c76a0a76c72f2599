// Package diarize is the client side of speaker diarization: it clusters
// speaker embeddings from a whole file into speakers, turns the clusters
// into labelled speaker turns, and gives every word of a transcript its
// speaker. It does no I/O; the embeddings come from the server's speaker
// model through the engine.
//
// Clustering is spectral clustering with the speaker count found by the
// normalised maximum eigengap (NME-SC, Park et al. 2019) on a bounded
// sample of the embeddings, followed by spherical k-means over all of
// them, so the cost grows linearly with the length of the file (see
// Cluster).
package diarize

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Embedding is the speaker model's vector for one stretch of audio.
type Embedding struct {
	Start, End float64 // seconds from the start of the file
	// Vector is the embedding, ideally L2-normalised (Cluster normalises
	// it anyway). A nil, all-zero or non-finite vector marks the span as
	// unknown (too short, or the model could not say): it joins no
	// cluster, and words in it borrow the speaker of their neighbours.
	Vector []float32
}

// Options choose the speaker count. The zero value is auto with the
// default bounds.
type Options struct {
	// Speakers is the exact count the user gave; 0 means auto. With fewer
	// distinct embeddings than Speakers, there are as many speakers as
	// embeddings.
	Speakers int
	// MinSpeakers and MaxSpeakers bound the automatic count; 0 means 1 and
	// DefaultMaxSpeakers. They are ignored when Speakers is set.
	MinSpeakers, MaxSpeakers int
}

// DefaultMaxSpeakers bounds the automatic speaker count when the caller
// gives no maximum.
const DefaultMaxSpeakers = 16

// ErrOptions is wrapped by the errors Cluster returns for options that
// make no sense (a negative count, a minimum above the maximum).
var ErrOptions = errors.New("diarize: invalid speaker options")

// Unknown is the speaker index of a span that joined no cluster.
const Unknown = -1

// Span is one input embedding's place in the result.
type Span struct {
	Start, End float64
	Speaker    int // index into Result.Speakers, or Unknown
}

// Turn is a stretch of time given to one speaker. Turns are in time order
// and do not overlap; where windows of different speakers overlap, each
// instant goes to the window whose centre is nearest.
type Turn struct {
	Start, End float64
	Speaker    int // index into Result.Speakers
}

// Result is what Cluster found.
type Result struct {
	Spans    []Span // one per input embedding, in input order
	Turns    []Turn
	Speakers []transcript.Speaker // by first appearance: S1 "Speaker 1", S2 "Speaker 2"…
}

// Cluster groups the embeddings into speakers across the whole file.
//
// Edge cases give a plain answer, never an error: no embeddings at all is
// no speakers; embeddings that are all unknown are one speaker; fewer
// known embeddings than Options.Speakers are one speaker each; in auto
// mode one voice is one speaker, and so are fewer than minAutoPoints
// known embeddings (too few to count speakers from).
//
// Errors: ErrOptions, vectors of different lengths, and times that are not
// finite or run backwards.
func Cluster(embs []Embedding, opt Options) (Result, error) {
	kmin, kmax, err := bounds(opt)
	if err != nil {
		return Result{}, err
	}
	dim := -1
	for i, e := range embs {
		if math.IsNaN(e.Start) || math.IsInf(e.Start, 0) || math.IsNaN(e.End) || math.IsInf(e.End, 0) || e.End < e.Start {
			return Result{}, fmt.Errorf("diarize: embedding %d has an invalid span %v–%v", i, e.Start, e.End)
		}
		if len(e.Vector) == 0 {
			continue
		}
		if dim < 0 {
			dim = len(e.Vector)
		} else if len(e.Vector) != dim {
			return Result{}, fmt.Errorf("diarize: embedding %d has %d dimensions, embedding 0 of its kind has %d", i, len(e.Vector), dim)
		}
	}

	// The known embeddings, normalised, in time order (the stride sample in
	// cluster is then spread over the whole file).
	var known []int
	for i, e := range embs {
		if usable(e.Vector) {
			known = append(known, i)
		}
	}
	slices.SortStableFunc(known, func(a, b int) int {
		switch ea, eb := embs[a], embs[b]; {
		case ea.Start < eb.Start:
			return -1
		case ea.Start > eb.Start:
			return 1
		}
		return 0
	})
	x := newPoints(len(known), dim)
	for r, i := range known {
		normalise(x.row(r), embs[i].Vector)
	}

	labels := make([]int, len(embs))
	for i := range labels {
		labels[i] = Unknown
	}
	switch {
	case len(embs) == 0:
	case len(known) == 0: // all unknown: one speaker for all of it
		for i := range labels {
			labels[i] = 0
		}
	default:
		got := cluster(x, kmin, kmax, opt.Speakers)
		for r, i := range known {
			labels[i] = got[r]
		}
	}
	return label(embs, labels), nil
}

// bounds turns the options into the range of counts to consider.
func bounds(opt Options) (kmin, kmax int, err error) {
	if opt.Speakers < 0 || opt.MinSpeakers < 0 || opt.MaxSpeakers < 0 {
		return 0, 0, fmt.Errorf("%w: speaker counts must not be negative", ErrOptions)
	}
	if opt.Speakers > 0 {
		return opt.Speakers, opt.Speakers, nil
	}
	kmin, kmax = max(opt.MinSpeakers, 1), opt.MaxSpeakers
	if kmax == 0 {
		kmax = max(DefaultMaxSpeakers, kmin)
	}
	if kmin > kmax {
		return 0, 0, fmt.Errorf("%w: at least %d speakers but at most %d", ErrOptions, kmin, kmax)
	}
	return kmin, kmax, nil
}

// usable says whether v can be normalised: not empty, not zero, finite.
func usable(v []float32) bool {
	if len(v) == 0 {
		return false
	}
	var ss float64
	for _, f := range v {
		ss += float64(f) * float64(f)
	}
	return ss != 0 && !math.IsNaN(ss) && !math.IsInf(ss, 0)
}

// normalise writes v scaled to unit length into dst; v is usable.
func normalise(dst []float64, v []float32) {
	var ss float64
	for _, f := range v {
		ss += float64(f) * float64(f)
	}
	n := 1 / math.Sqrt(ss)
	for i, f := range v {
		dst[i] = float64(f) * n
	}
}

// label renumbers clusters by first appearance, builds the turns and counts
// each speaker's seconds.
func label(embs []Embedding, cl []int) Result {
	first := map[int]float64{}
	for i, c := range cl {
		if c == Unknown {
			continue
		}
		if t, ok := first[c]; !ok || embs[i].Start < t {
			first[c] = embs[i].Start
		}
	}
	ids := make([]int, 0, len(first))
	for c := range first {
		ids = append(ids, c)
	}
	slices.SortFunc(ids, func(a, b int) int {
		if first[a] != first[b] {
			if first[a] < first[b] {
				return -1
			}
			return 1
		}
		return a - b
	})
	rank := make(map[int]int, len(ids))
	for r, c := range ids {
		rank[c] = r
	}
	res := Result{Spans: make([]Span, len(embs)), Speakers: make([]transcript.Speaker, len(ids))}
	for i, e := range embs {
		s := Unknown
		if c := cl[i]; c != Unknown {
			s = rank[c]
		}
		res.Spans[i] = Span{Start: e.Start, End: e.End, Speaker: s}
	}
	res.Turns = turns(res.Spans)
	for r := range res.Speakers {
		n := strconv.Itoa(r + 1)
		res.Speakers[r] = transcript.Speaker{ID: "S" + n, Label: "Speaker " + n}
	}
	for _, t := range res.Turns {
		res.Speakers[t.Speaker].Seconds += t.End - t.Start
	}
	return res
}

// turns lays the spans on the time line: every instant covered by a known
// span goes to the covering known span whose centre is nearest (ties to
// the span that starts first); time covered only by unknown spans borrows
// from the turns either side of it (split halfway when they differ, the
// nearest turn when it touches neither); neighbouring pieces of one
// speaker join.
func turns(spans []Span) []Turn {
	type iv struct {
		start, end, centre float64
		speaker            int
	}
	var ivs []iv
	var cuts, centres []float64
	for _, s := range spans {
		if s.End <= s.Start {
			continue
		}
		c := (s.Start + s.End) / 2
		ivs = append(ivs, iv{s.Start, s.End, c, s.Speaker})
		cuts = append(cuts, s.Start, s.End)
		if s.Speaker != Unknown {
			centres = append(centres, c)
		}
	}
	slices.SortStableFunc(ivs, func(a, b iv) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	// The owner of an instant changes only at a span's edge or halfway
	// between two neighbouring centres.
	slices.Sort(centres)
	for i := 1; i < len(centres); i++ {
		cuts = append(cuts, (centres[i-1]+centres[i])/2)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	// Pieces in time order; Unknown marks time only unknown spans cover.
	var pieces []Turn
	add := func(t Turn) {
		if n := len(pieces); n > 0 && pieces[n-1].Speaker == t.Speaker && pieces[n-1].End == t.Start {
			pieces[n-1].End = t.End
			return
		}
		pieces = append(pieces, t)
	}
	var active []iv
	next := 0
	for c := 0; c+1 < len(cuts); c++ {
		a, b := cuts[c], cuts[c+1]
		for next < len(ivs) && ivs[next].start <= a {
			active = append(active, ivs[next])
			next++
		}
		active = slices.DeleteFunc(active, func(v iv) bool { return v.end <= a })
		if len(active) == 0 {
			continue
		}
		mid := (a + b) / 2
		best := Unknown
		bestDist := math.Inf(1)
		for _, v := range active {
			if d := math.Abs(v.centre - mid); v.speaker != Unknown && d < bestDist {
				best, bestDist = v.speaker, d
			}
		}
		add(Turn{Start: a, End: b, Speaker: best})
	}

	var out []Turn
	push := func(t Turn) {
		if n := len(out); n > 0 && out[n-1].Speaker == t.Speaker && out[n-1].End == t.Start {
			out[n-1].End = t.End
			return
		}
		out = append(out, t)
	}
	for i, p := range pieces {
		if p.Speaker != Unknown {
			push(p)
			continue
		}
		// The known pieces either side (pieces alternate known/unknown
		// where they touch, since unknown ones were joined).
		var prev, nxt *Turn
		if i > 0 {
			prev = &pieces[i-1]
		}
		if i+1 < len(pieces) {
			nxt = &pieces[i+1]
		}
		touchPrev := prev != nil && prev.End == p.Start
		touchNext := nxt != nil && nxt.Start == p.End
		switch {
		case prev == nil && nxt == nil: // only unknowns: cannot happen, Cluster labels them all
		case touchPrev && touchNext && prev.Speaker != nxt.Speaker:
			m := (p.Start + p.End) / 2
			push(Turn{Start: p.Start, End: m, Speaker: prev.Speaker})
			push(Turn{Start: m, End: p.End, Speaker: nxt.Speaker})
		case touchPrev:
			push(Turn{Start: p.Start, End: p.End, Speaker: prev.Speaker})
		case touchNext:
			push(Turn{Start: p.Start, End: p.End, Speaker: nxt.Speaker})
		case nxt == nil || (prev != nil && p.Start-prev.End <= nxt.Start-p.End):
			push(Turn{Start: p.Start, End: p.End, Speaker: prev.Speaker})
		default:
			push(Turn{Start: p.Start, End: p.End, Speaker: nxt.Speaker})
		}
	}
	return out
}
