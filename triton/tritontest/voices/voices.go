// Package voices gives the test recordings speakers and tells them apart.
//
// It is the signal processing behind the test server's "voices" model, the
// deterministic stand-in for a speaker-embedding model (TitaNet) as package
// dtmf is for speech recognition. A voice is a harmonic series that sounds
// for exactly the duration of each key press it accompanies: a fundamental
// f0 between MinF0 and MaxF0, every harmonic k·f0 up to MaxHarmonicHz, the
// amplitude of harmonic k proportional to 1/k, and a total RMS LevelDB below
// the press. Everything a voice sounds lies below 650 Hz and every DTMF tone
// at 697 Hz or above, so the dtmf model hears the keys exactly with a voice
// present, and the voices model hears the voice without the keys.
//
// Embed turns a span of audio into an embedding of EmbeddingSize values: it
// estimates the span's f0 with a harmonic sum below 650 Hz and places a
// smooth bump (a Gaussian of width BumpWidth in log f0) on a log-f0 grid.
// The cosine similarity of two spans is then exp(-(ln r)²/(4·BumpWidth²))
// for f0s a ratio r apart: above 0.99 for the same voice, 0.52 at 5% apart,
// 0.08 at 10% apart.
package voices

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

const (
	// MinF0 and MaxF0 bound a voice's fundamental, in Hz.
	MinF0 = 90.0
	MaxF0 = 320.0
	// MaxHarmonicHz is the highest harmonic a voice sounds.
	MaxHarmonicHz = 600.0
	// LevelDB is a voice's RMS relative to the RMS of the press it
	// accompanies.
	LevelDB = -12.0
	// MinSeparation is how far apart, as a ratio of f0s, voices must be for
	// the model to tell them apart (10%).
	MinSeparation = 1.10
)

// Harmonics returns the frequencies a voice of fundamental f0 sounds:
// k·f0 for k = 1, 2, … up to MaxHarmonicHz (just f0 when f0 is above it).
func Harmonics(f0 float64) []float64 {
	out := []float64{f0}
	for k := 2; float64(k)*f0 <= MaxHarmonicHz+1e-9; k++ {
		out = append(out, float64(k)*f0)
	}
	return out
}

// Check reports whether f0s are voices the model tells apart: each within
// [MinF0, MaxF0] and every two at least MinSeparation apart.
func Check(f0s []float64) error {
	for i, f := range f0s {
		if f < MinF0 || f > MaxF0 || math.IsNaN(f) {
			return fmt.Errorf("voice %g Hz is outside %g–%g Hz", f, MinF0, MaxF0)
		}
		for _, g := range f0s[:i] {
			if r := max(f, g) / min(f, g); r < MinSeparation-1e-9 {
				return fmt.Errorf("voices %g Hz and %g Hz are %.1f%% apart; the voices model needs %.0f%%", g, f, (r-1)*100, (MinSeparation-1)*100)
			}
		}
	}
	return nil
}

// Press is a key press spoken by a voice: F0 is its fundamental in Hz, 0
// for a press without a voice.
type Press struct {
	dtmf.Press
	F0 float64
}

// Synthesize returns duration seconds of mono audio at sampleRate with the
// given presses, as dtmf.Synthesize writes them (opts shape the tones and
// the noise), each with its voice added over exactly its samples: the same
// first and last sample as the press, a level LevelDB below the press.
func Synthesize(presses []Press, sampleRate int, duration float64, opts dtmf.SynthOptions) []float32 {
	keys := make([]dtmf.Press, len(presses))
	for i, p := range presses {
		keys[i] = p.Press
	}
	out := dtmf.Synthesize(keys, sampleRate, duration, opts)
	amp := opts.Amplitude
	if amp == 0 {
		amp = 0.25 // dtmf.Synthesize's default
	}
	// Two tones of amplitude amp have an RMS of amp.
	rms := amp * math.Pow(10, LevelDB/20)
	sr := float64(sampleRate)
	for _, p := range presses {
		if p.F0 <= 0 {
			continue
		}
		if _, _, ok := dtmf.Freqs(p.Key); !ok {
			continue // dtmf.Synthesize skipped it: no press, no voice
		}
		i0 := int(math.Round(p.Start * sr))
		lo := min(max(i0, 0), len(out))
		hi := max(lo, min(int(math.Round(p.End*sr)), len(out)))
		AddVoice(out[lo:hi], sampleRate, p.F0, rms, lo-i0)
	}
	return out
}

// AddVoice adds a voice of fundamental f0 and RMS rms to x, every harmonic
// starting at phase 0 at sample -offset (offset > 0 when the voice began
// before x).
func AddVoice(x []float32, sampleRate int, f0, rms float64, offset int) {
	hs := Harmonics(f0)
	var sum float64 // Σ 1/k²: harmonic k has power (c/k)²/2
	for k := range hs {
		sum += 1 / float64((k+1)*(k+1))
	}
	c := rms * math.Sqrt(2/sum)
	for k, f := range hs {
		a := c / float64(k+1)
		w := 2 * math.Pi * f / float64(sampleRate)
		for i := range x {
			x[i] += float32(a * math.Sin(w*float64(i+offset)))
		}
	}
}

// Turns assigns voices to n presses in turns of keysPerTurn presses each,
// cycling through nVoices voices: the index of each press's voice.
func Turns(n, nVoices, keysPerTurn int) []int {
	out := make([]int, n)
	if nVoices < 1 || keysPerTurn < 1 {
		return out
	}
	for i := range out {
		out[i] = (i / keysPerTurn) % nVoices
	}
	return out
}

// RandomTurns assigns voices to n presses in turns of minKeys to maxKeys
// presses (each length equally likely), each turn a voice other than the
// last one's, chosen at random; seed makes it repeatable. The first
// nVoices turns use every voice once, in a random order, so that every
// voice speaks when there are enough presses.
func RandomTurns(n, nVoices, minKeys, maxKeys int, seed uint64) []int {
	out := make([]int, n)
	if nVoices < 1 {
		return out
	}
	minKeys = max(minKeys, 1)
	maxKeys = max(maxKeys, minKeys)
	rng := rand.New(rand.NewPCG(seed, 0x766f69636573))
	order := rng.Perm(nVoices)
	last := -1
	for i, turn := 0, 0; i < n; turn++ {
		v := 0
		switch {
		case turn < nVoices:
			v = order[turn]
		case nVoices == 1:
			v = 0
		default:
			v = rng.IntN(nVoices - 1)
			if v >= last {
				v++
			}
		}
		length := minKeys + rng.IntN(maxKeys-minKeys+1)
		for j := 0; j < length && i < n; j++ {
			out[i] = v
			i++
		}
		last = v
	}
	return out
}

// MaxVoices is the most voices Spread gives: as many as fit between MinF0
// and MaxF0 MinSeparation apart.
var MaxVoices = int(math.Floor(math.Log(MaxF0/MinF0)/math.Log(MinSeparation))) + 1

// Spread returns n voices spread evenly in log f0 from MinF0 to MaxF0 (one
// voice: 150 Hz), every two at least MinSeparation apart; n is at most
// MaxVoices.
func Spread(n int) ([]float64, error) {
	if n < 1 || n > MaxVoices {
		return nil, fmt.Errorf("%d voices: between 1 and %d fit %g–%g Hz %.0f%% apart", n, MaxVoices, MinF0, MaxF0, (MinSeparation-1)*100)
	}
	if n == 1 {
		return []float64{150}, nil
	}
	out := make([]float64, n)
	for i := range out {
		f := MinF0 * math.Pow(MaxF0/MinF0, float64(i)/float64(n-1))
		out[i] = math.Round(f*10) / 10
	}
	return out, Check(out)
}

// RandomPresses lays key presses over duration seconds: random keys,
// lengths from minLen to maxLen seconds and gaps from minGap to maxGap,
// starting after a first gap; seed makes it repeatable. Recordings for
// diarization tests and benchmarks: voices.Synthesize them with Turns or
// RandomTurns.
func RandomPresses(duration, minLen, maxLen, minGap, maxGap float64, seed uint64) []dtmf.Press {
	rng := rand.New(rand.NewPCG(seed, 0x6b657973))
	var out []dtmf.Press
	uniform := func(lo, hi float64) float64 { return lo + rng.Float64()*max(hi-lo, 0) }
	for t := uniform(minGap, maxGap); ; {
		d := uniform(minLen, maxLen)
		if t+d > duration {
			return out
		}
		out = append(out, dtmf.Press{Key: rune(dtmf.Keys[rng.IntN(len(dtmf.Keys))]), Start: round4(t), End: round4(t + d)})
		t += d + uniform(minGap, maxGap)
	}
}

// round4 keeps times to 0.1 ms, so that the truth JSON is short.
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
