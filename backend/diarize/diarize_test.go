package diarize_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
)

func speakersOf(r diarize.Result) []int {
	out := make([]int, len(r.Spans))
	for i, s := range r.Spans {
		out[i] = s.Speaker
	}
	return out
}

// checkResult asserts what every result must satisfy: one span per
// embedding with its times, speakers in range, turns in order without
// overlap, labels S1/Speaker 1… and finite seconds that add up to the
// turns.
func checkResult(t *testing.T, embs []diarize.Embedding, r diarize.Result) {
	t.Helper()
	if len(r.Spans) != len(embs) {
		t.Fatalf("%d spans for %d embeddings", len(r.Spans), len(embs))
	}
	for i, s := range r.Spans {
		if s.Start != embs[i].Start || s.End != embs[i].End {
			t.Fatalf("span %d is %v–%v, embedding %v–%v", i, s.Start, s.End, embs[i].Start, embs[i].End)
		}
		if s.Speaker < diarize.Unknown || s.Speaker >= len(r.Speakers) {
			t.Fatalf("span %d has speaker %d of %d", i, s.Speaker, len(r.Speakers))
		}
	}
	for i, sp := range r.Speakers {
		if want := fmt.Sprintf("S%d", i+1); sp.ID != want {
			t.Errorf("speaker %d id %q, want %q", i, sp.ID, want)
		}
		if want := fmt.Sprintf("Speaker %d", i+1); sp.Label != want {
			t.Errorf("speaker %d label %q, want %q", i, sp.Label, want)
		}
		if math.IsNaN(sp.Seconds) || math.IsInf(sp.Seconds, 0) || sp.Seconds < 0 {
			t.Errorf("speaker %d seconds %v", i, sp.Seconds)
		}
	}
	var total, sum float64
	for i, tu := range r.Turns {
		if tu.End <= tu.Start || tu.Speaker < 0 || tu.Speaker >= len(r.Speakers) {
			t.Fatalf("turn %d %+v", i, tu)
		}
		if i > 0 && tu.Start < r.Turns[i-1].End {
			t.Fatalf("turn %d %+v overlaps %+v", i, tu, r.Turns[i-1])
		}
		if i > 0 && tu.Start == r.Turns[i-1].End && tu.Speaker == r.Turns[i-1].Speaker {
			t.Fatalf("turns %d and %d of one speaker are not joined", i-1, i)
		}
		total += tu.End - tu.Start
	}
	for _, sp := range r.Speakers {
		sum += sp.Seconds
	}
	if math.Abs(total-sum) > 1e-6 {
		t.Errorf("speakers' seconds add to %v, turns to %v", sum, total)
	}
	// First appearance: speaker i's first span starts no later than
	// speaker i+1's.
	first := make([]float64, len(r.Speakers))
	for i := range first {
		first[i] = math.Inf(1)
	}
	for _, s := range r.Spans {
		if s.Speaker >= 0 {
			first[s.Speaker] = math.Min(first[s.Speaker], s.Start)
		}
	}
	if !slices.IsSorted(first) {
		t.Errorf("speakers not in order of first appearance: %v", first)
	}
}

func TestClusterSynthetic(t *testing.T) {
	type tc struct {
		speakers int
		seconds  float64
		fixed    bool
	}
	var cases []tc
	for k := 1; k <= 8; k++ {
		if raceEnabled && k != 1 && k != 3 && k != 6 {
			continue
		}
		secs := 600.0
		if raceEnabled {
			secs = 240
		}
		cases = append(cases, tc{k, secs, false}, tc{k, secs / 2, true})
	}
	if !raceEnabled && !testing.Short() {
		// Beyond the sample: one hour, every embedding joins a centroid.
		cases = append(cases, tc{6, 3600, false}, tc{2, 3600, true})
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dspk/%gs/auto", c.speakers, c.seconds)
		if c.fixed {
			name = fmt.Sprintf("%dspk/%gs/fixed", c.speakers, c.seconds)
		}
		t.Run(name, func(t *testing.T) {
			rec := diarizetest.Generate(diarizetest.Config{Speakers: c.speakers, Seconds: c.seconds, Seed: uint64(c.speakers)})
			opt := diarize.Options{}
			if c.fixed {
				opt.Speakers = c.speakers
			}
			r, err := diarize.Cluster(rec.Embeddings, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, rec.Embeddings, r)
			if len(r.Speakers) != c.speakers {
				t.Fatalf("%d speakers, want %d", len(r.Speakers), c.speakers)
			}
			acc, mapping := diarizetest.Accuracy(rec.Truth, speakersOf(r))
			if acc < 0.98 {
				t.Errorf("accuracy %.4f < 0.98", acc)
			}
			// The truth is numbered by first appearance too, so the best
			// mapping is the identity.
			for p, tr := range mapping {
				if p != tr {
					t.Errorf("Speaker %d is true speaker %d: labels not by first appearance (mapping %v)", p+1, tr+1, mapping)
					break
				}
			}
			for i, s := range r.Spans {
				if (rec.Truth[i] == diarize.Unknown) != (s.Speaker == diarize.Unknown) {
					t.Fatalf("span %d: truth %d, got %d: unknown rows must stay unknown, known ones must not", i, rec.Truth[i], s.Speaker)
				}
			}
			// Each speaker's seconds are near the truth's.
			truth := make([]float64, c.speakers)
			for _, tu := range rec.Turns {
				truth[tu.Speaker] += tu.End - tu.Start
			}
			for i, sp := range r.Speakers {
				if d := math.Abs(sp.Seconds - truth[i]); d > 0.05*truth[i]+3 {
					t.Errorf("%s talks %.1f s, truth %.1f s", sp.Label, sp.Seconds, truth[i])
				}
			}
		})
	}
}

func TestClusterBounds(t *testing.T) {
	secs := 600.0
	if raceEnabled {
		secs = 240
	}
	for _, c := range []struct {
		speakers int
		opt      diarize.Options
		want     int
	}{
		{4, diarize.Options{MaxSpeakers: 2}, 2},
		{2, diarize.Options{MinSpeakers: 3}, 3},
		{3, diarize.Options{MinSpeakers: 2, MaxSpeakers: 5}, 3},
		{5, diarize.Options{MinSpeakers: 5, MaxSpeakers: 5}, 5},
	} {
		t.Run(fmt.Sprintf("%d/%+v", c.speakers, c.opt), func(t *testing.T) {
			rec := diarizetest.Generate(diarizetest.Config{Speakers: c.speakers, Seconds: secs, Seed: 7})
			r, err := diarize.Cluster(rec.Embeddings, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, rec.Embeddings, r)
			if len(r.Speakers) != c.want {
				t.Errorf("%d speakers, want %d", len(r.Speakers), c.want)
			}
		})
	}
}

func vec(dim int, hot int) []float32 {
	v := make([]float32, dim)
	v[hot%dim] = 1
	return v
}

func TestClusterEdgeCases(t *testing.T) {
	zero := make([]float32, 8)
	nan := vec(8, 0)
	nan[3] = float32(math.NaN())
	at := func(i int, v []float32) diarize.Embedding {
		return diarize.Embedding{Start: float64(i), End: float64(i) + 1, Vector: v}
	}
	var same []diarize.Embedding
	for i := range 40 {
		same = append(same, at(i, vec(8, 2)))
	}
	var twoClean []diarize.Embedding // two identical-vector voices, alternating turns of 5
	var twoCleanLabels []int
	for i := range 40 {
		twoClean = append(twoClean, at(i, vec(8, 3+(i/5)%2)))
		twoCleanLabels = append(twoCleanLabels, (i/5)%2)
	}
	var two []diarize.Embedding // two orthogonal voices, 3 windows each
	for i := range 6 {
		two = append(two, at(i, vec(8, i/3)))
	}
	cases := []struct {
		name     string
		embs     []diarize.Embedding
		opt      diarize.Options
		speakers int
		labels   []int // per span, when given
		seconds  []float64
	}{
		{name: "silence", embs: nil, speakers: 0},
		{name: "silence fixed", embs: nil, opt: diarize.Options{Speakers: 3}, speakers: 0},
		{name: "all unknown", embs: []diarize.Embedding{at(0, zero), at(1, nil), at(3, nan)}, speakers: 1,
			labels: []int{0, 0, 0}, seconds: []float64{3}},
		{name: "all unknown fixed", embs: []diarize.Embedding{at(0, zero), at(1, nil)}, opt: diarize.Options{Speakers: 4}, speakers: 1,
			labels: []int{0, 0}, seconds: []float64{2}},
		{name: "one point", embs: []diarize.Embedding{at(0, vec(8, 1))}, speakers: 1, labels: []int{0}, seconds: []float64{1}},
		{name: "one point and unknowns", embs: []diarize.Embedding{at(0, zero), at(1, vec(8, 1)), at(2, zero)}, speakers: 1,
			labels: []int{-1, 0, -1}, seconds: []float64{3}},
		{name: "unknowns between two voices split halfway", embs: []diarize.Embedding{at(0, vec(8, 1)), at(1, zero), at(2, zero), at(3, vec(8, 2))},
			opt: diarize.Options{Speakers: 2}, speakers: 2, labels: []int{0, -1, -1, 1}, seconds: []float64{2, 2}},
		{name: "a lone unknown span borrows the nearest turn", embs: []diarize.Embedding{at(0, vec(8, 1)), at(5, zero), at(8, vec(8, 2))},
			opt: diarize.Options{Speakers: 2}, speakers: 2, labels: []int{0, -1, 1}, seconds: []float64{1, 2}},
		{name: "fewer points than asked", embs: []diarize.Embedding{at(0, vec(8, 1)), at(1, zero), at(2, vec(8, 5))},
			opt: diarize.Options{Speakers: 4}, speakers: 2, labels: []int{0, -1, 1}, seconds: []float64{1.5, 1.5}},
		{name: "as many points as asked", embs: two[:3], opt: diarize.Options{Speakers: 3}, speakers: 3, labels: []int{0, 1, 2}},
		{name: "too few to count", embs: two[:5], speakers: 1, labels: []int{0, 0, 0, 0, 0}},
		{name: "two voices fixed", embs: two, opt: diarize.Options{Speakers: 2}, speakers: 2, labels: []int{0, 0, 0, 1, 1, 1}},
		{name: "one voice auto", embs: same, speakers: 1},
		{name: "two noiseless voices auto", embs: twoClean, speakers: 2, labels: twoCleanLabels},
		{name: "one voice asked for three", embs: same, opt: diarize.Options{Speakers: 3}, speakers: 1},
		{name: "zero-length spans", embs: []diarize.Embedding{{Start: 2, End: 2, Vector: vec(8, 1)}}, speakers: 1,
			labels: []int{0}, seconds: []float64{0}},
		{name: "unnormalised vectors", embs: []diarize.Embedding{at(0, []float32{3, 4}), at(1, []float32{0, 0.5})},
			opt: diarize.Options{Speakers: 2}, speakers: 2, labels: []int{0, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := diarize.Cluster(c.embs, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, c.embs, r)
			if len(r.Speakers) != c.speakers {
				t.Errorf("%d speakers, want %d", len(r.Speakers), c.speakers)
			}
			if c.labels != nil && !slices.Equal(speakersOf(r), c.labels) {
				t.Errorf("labels %v, want %v", speakersOf(r), c.labels)
			}
			if c.seconds != nil {
				got := make([]float64, len(r.Speakers))
				for i, s := range r.Speakers {
					got[i] = s.Seconds
				}
				if !slices.Equal(got, c.seconds) {
					t.Errorf("seconds %v, want %v", got, c.seconds)
				}
			}
		})
	}
}

func TestClusterErrors(t *testing.T) {
	ok := []diarize.Embedding{{Start: 0, End: 1, Vector: vec(4, 0)}}
	for _, c := range []struct {
		name    string
		embs    []diarize.Embedding
		opt     diarize.Options
		options bool
	}{
		{"negative count", ok, diarize.Options{Speakers: -1}, true},
		{"negative min", ok, diarize.Options{MinSpeakers: -2}, true},
		{"min above max", ok, diarize.Options{MinSpeakers: 4, MaxSpeakers: 3}, true},
		{"dimensions differ", []diarize.Embedding{{Start: 0, End: 1, Vector: vec(4, 0)}, {Start: 1, End: 2, Vector: vec(5, 0)}}, diarize.Options{}, false},
		{"backwards span", []diarize.Embedding{{Start: 2, End: 1, Vector: vec(4, 0)}}, diarize.Options{}, false},
		{"NaN time", []diarize.Embedding{{Start: math.NaN(), End: 1}}, diarize.Options{}, false},
		{"infinite time", []diarize.Embedding{{Start: 0, End: math.Inf(1)}}, diarize.Options{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := diarize.Cluster(c.embs, c.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, diarize.ErrOptions) != c.options {
				t.Errorf("errors.Is(%v, ErrOptions) = %v", err, !c.options)
			}
		})
	}
	// A maximum below the default minimum of 1 is still fine when only the
	// minimum is given.
	if _, err := diarize.Cluster(ok, diarize.Options{MinSpeakers: 20}); err != nil {
		t.Errorf("MinSpeakers above the default maximum: %v", err)
	}
}

// Overlapping windows (hop half the window): each instant goes to the
// nearest window's centre, so turns change halfway through the overlap.
func TestTurnsOverlappingWindows(t *testing.T) {
	var embs []diarize.Embedding
	for i := range 12 {
		embs = append(embs, diarize.Embedding{Start: float64(i) * 0.5, End: float64(i)*0.5 + 1, Vector: vec(4, i/6)})
	}
	r, err := diarize.Cluster(embs, diarize.Options{Speakers: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, embs, r)
	want := []diarize.Turn{{Start: 0, End: 3.25, Speaker: 0}, {Start: 3.25, End: 6.5, Speaker: 1}}
	if !slices.Equal(r.Turns, want) {
		t.Errorf("turns %v, want %v", r.Turns, want)
	}
}

func TestDeterministic(t *testing.T) {
	rec := diarizetest.Generate(diarizetest.Config{Speakers: 4, Seconds: 300, Seed: 3})
	a, _ := diarize.Cluster(rec.Embeddings, diarize.Options{})
	b, _ := diarize.Cluster(rec.Embeddings, diarize.Options{})
	if !slices.Equal(speakersOf(a), speakersOf(b)) || !slices.Equal(a.Turns, b.Turns) {
		t.Error("two runs on the same input differ")
	}
}

// The input need not be in time order: labels follow the spans, and
// speakers are still numbered by first appearance in time.
func TestClusterUnordered(t *testing.T) {
	rec := diarizetest.Generate(diarizetest.Config{Speakers: 3, Seconds: 300, Seed: 11})
	r1, err := diarize.Cluster(rec.Embeddings, diarize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(rec.Embeddings)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = (i*7919 + 13) % n // 7919 is prime and does not divide n
	}
	if n%7919 == 0 {
		t.Fatal("bad permutation")
	}
	shuffled := make([]diarize.Embedding, n)
	for i, p := range perm {
		shuffled[i] = rec.Embeddings[p]
	}
	r2, err := diarize.Cluster(shuffled, diarize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, shuffled, r2)
	if !slices.Equal(r1.Turns, r2.Turns) {
		t.Error("turns differ when the input is shuffled")
	}
	diff := 0
	for i, p := range perm {
		if r2.Spans[i].Speaker != r1.Spans[p].Speaker {
			diff++
		}
	}
	if diff > n/100 {
		t.Errorf("%d of %d spans change speaker when the input is shuffled", diff, n)
	}
}
