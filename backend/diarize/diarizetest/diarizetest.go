// Package diarizetest makes synthetic speaker embeddings with a known
// truth, for the diarize tests and benchmarks: k speaker centroids on the
// sphere, a conversation of turns of varying length, one noisy embedding
// per window, windows that straddle a turn mixing both voices, and a few
// unknown (zero) rows.
package diarizetest

import (
	"math"
	"math/rand/v2"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
)

// Config describes a recording. Zero fields take the defaults in Generate.
type Config struct {
	Speakers int     // voices, ≥ 1
	Seconds  float64 // length of the speech
	Window   float64 // embedding window, seconds (0.75)
	Hop      float64 // window step, seconds (= Window)
	Dim      int     // embedding size (192, as TitaNet)
	// Similarity is the cosine between two speakers' centroids (0.3).
	Similarity float64
	// Noise scales each embedding's Gaussian noise against its unit
	// centroid (0.9: an embedding's cosine to its centroid ≈ 0.74, two of
	// one speaker ≈ 0.55, two of different speakers ≈ 0.17).
	Noise            float64
	MinTurn, MaxTurn float64 // turn lengths, seconds (2, 12)
	Unknown          float64 // share of windows with a zero vector (0.02)
	// Weights, when set, make some speakers talk more: turn i goes to
	// speaker s with probability proportional to Weights[s].
	Weights []float64
	Seed    uint64
}

// Turn is a stretch of the truth.
type Turn struct {
	Start, End float64
	Speaker    int
}

// Recording is a generated input with its truth.
type Recording struct {
	Embeddings []diarize.Embedding
	// Truth is each embedding's speaker (the one talking over most of its
	// window), numbered by first appearance from 0; diarize.Unknown for
	// zero rows.
	Truth []int
	Turns []Turn
}

// Generate makes the recording the config describes. The same config
// gives the same recording.
func Generate(c Config) Recording {
	if c.Speakers < 1 {
		c.Speakers = 1
	}
	if c.Window == 0 {
		c.Window = 0.75
	}
	if c.Hop == 0 {
		c.Hop = c.Window
	}
	if c.Dim == 0 {
		c.Dim = 192
	}
	if c.Similarity == 0 {
		c.Similarity = 0.3
	}
	if c.Noise == 0 {
		c.Noise = 0.9
	}
	if c.MinTurn == 0 {
		c.MinTurn = 2
	}
	if c.MaxTurn == 0 {
		c.MaxTurn = 12
	}
	if c.Unknown == 0 {
		c.Unknown = 0.02
	}
	if c.Unknown < 0 {
		c.Unknown = 0
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))

	shared := unit(rng, c.Dim)
	cents := make([][]float64, c.Speakers)
	for s := range cents {
		u := unit(rng, c.Dim)
		v := make([]float64, c.Dim)
		for j := range v {
			v[j] = math.Sqrt(c.Similarity)*shared[j] + math.Sqrt(1-c.Similarity)*u[j]
		}
		cents[s] = normalise(v)
	}

	// The conversation: each turn a different speaker from the last; the
	// first turns introduce the speakers in order so all of them speak.
	var turns []Turn
	prev := -1
	for t := 0.0; t < c.Seconds; {
		s := len(turns)
		if s >= c.Speakers {
			s = pick(rng, c.Weights, c.Speakers, prev)
		}
		d := c.MinTurn + rng.Float64()*(c.MaxTurn-c.MinTurn)
		end := math.Min(t+d, c.Seconds)
		turns = append(turns, Turn{Start: t, End: end, Speaker: s})
		prev, t = s, end
	}

	var rec Recording
	rec.Turns = turns
	ti := 0
	for start := 0.0; start+c.Window <= c.Seconds+1e-9; start += c.Hop {
		end := start + c.Window
		for ti < len(turns) && turns[ti].End <= start {
			ti++
		}
		// Each voice weighs by its share of the window.
		mix := make([]float64, c.Dim)
		best, bestShare := 0, -1.0
		for j := ti; j < len(turns) && turns[j].Start < end; j++ {
			share := (math.Min(end, turns[j].End) - math.Max(start, turns[j].Start)) / c.Window
			for d := range mix {
				mix[d] += share * cents[turns[j].Speaker][d]
			}
			if share > bestShare {
				best, bestShare = turns[j].Speaker, share
			}
		}
		vec := make([]float32, c.Dim)
		truth := best
		if rng.Float64() < c.Unknown {
			truth = diarize.Unknown
		} else {
			for d := range vec {
				vec[d] = float32(mix[d] + c.Noise*rng.NormFloat64()/math.Sqrt(float64(c.Dim)))
			}
			normalise32(vec)
		}
		rec.Embeddings = append(rec.Embeddings, diarize.Embedding{Start: start, End: end, Vector: vec})
		rec.Truth = append(rec.Truth, truth)
	}
	return rec
}

func pick(rng *rand.Rand, w []float64, k, not int) int {
	for {
		var s int
		if len(w) == k {
			var sum float64
			for _, v := range w {
				sum += v
			}
			r := rng.Float64() * sum
			for s = 0; s < k-1; s++ {
				if r -= w[s]; r < 0 {
					break
				}
			}
		} else {
			s = rng.IntN(k)
		}
		if s != not || k == 1 {
			return s
		}
	}
}

func unit(rng *rand.Rand, d int) []float64 {
	v := make([]float64, d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return normalise(v)
}

func normalise(v []float64) []float64 {
	var s float64
	for _, f := range v {
		s += f * f
	}
	n := math.Sqrt(s)
	for i := range v {
		v[i] /= n
	}
	return v
}

func normalise32(v []float32) {
	var s float64
	for _, f := range v {
		s += float64(f) * float64(f)
	}
	n := float32(math.Sqrt(s))
	for i := range v {
		v[i] /= n
	}
}

// Accuracy is the share of known truth rows whose predicted speaker
// matches after the best one-to-one mapping of predicted to true speakers
// (brute force over permutations: fine up to 9 speakers on either side).
// It also returns the mapping, predicted index → true index (-1 for a
// predicted speaker mapped to none).
func Accuracy(truth, pred []int) (float64, []int) {
	kt, kp := 0, 0
	for i := range truth {
		kt = max(kt, truth[i]+1)
		kp = max(kp, pred[i]+1)
	}
	k := max(kt, kp)
	conf := make([][]int, k) // [pred][truth]
	for i := range conf {
		conf[i] = make([]int, k)
	}
	total := 0
	for i := range truth {
		if truth[i] < 0 {
			continue
		}
		total++
		if pred[i] >= 0 {
			conf[pred[i]][truth[i]]++
		}
	}
	perm := make([]int, k)
	for i := range perm {
		perm[i] = i
	}
	best, bestPerm := -1, []int(nil)
	var rec func(i int)
	rec = func(i int) {
		if i == k {
			s := 0
			for p, t := range perm {
				s += conf[p][t]
			}
			if s > best {
				best, bestPerm = s, append([]int(nil), perm...)
			}
			return
		}
		for j := i; j < k; j++ {
			perm[i], perm[j] = perm[j], perm[i]
			rec(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
	rec(0)
	mapping := make([]int, kp)
	for p := range mapping {
		mapping[p] = bestPerm[p]
		if bestPerm[p] >= kt {
			mapping[p] = -1
		}
	}
	if total == 0 {
		return 1, mapping
	}
	return float64(best) / float64(total), mapping
}
