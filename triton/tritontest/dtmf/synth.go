package dtmf

import (
	"math"
	"math/rand/v2"
)

// SynthOptions shapes the audio Synthesize writes.
type SynthOptions struct {
	// Amplitude is the peak amplitude of each of a press's two tones;
	// 0 means 0.25, so the pair peaks at 0.5.
	Amplitude float64
	// NoiseDB adds white Gaussian noise over the whole duration at this
	// power relative to the power of a press's two tones (-30 = 30 dB
	// below). 0 means no noise.
	NoiseDB float64
	// FreqError detunes every tone by this fraction (0.015 = 1.5% high,
	// -0.015 = 1.5% low).
	FreqError float64
	// Seed makes the noise repeatable.
	Seed uint64
}

// Synthesize returns duration seconds of mono audio at sampleRate with the
// given presses: each press is its key's two sinusoids switched on at the
// sample nearest Start and off at the sample nearest End, with no ramp, so
// Start and End are the exact truth a detector should find. Presses may run
// past either end of the audio (they are cut); runes outside Keys are
// skipped.
func Synthesize(presses []Press, sampleRate int, duration float64, opts SynthOptions) []float32 {
	sr := float64(sampleRate)
	n := max(int(math.Round(duration*sr)), 0)
	out := make([]float32, n)
	amp := opts.Amplitude
	if amp == 0 {
		amp = 0.25
	}
	for _, p := range presses {
		row, col, ok := Freqs(p.Key)
		if !ok {
			continue
		}
		i0 := int(math.Round(p.Start * sr))
		i1 := min(int(math.Round(p.End*sr)), n)
		wr := 2 * math.Pi * row * (1 + opts.FreqError) / sr
		wc := 2 * math.Pi * col * (1 + opts.FreqError) / sr
		for i := max(i0, 0); i < i1; i++ {
			t := float64(i - i0)
			out[i] += float32(amp * (math.Sin(wr*t) + math.Sin(wc*t)))
		}
	}
	if opts.NoiseDB != 0 {
		// Two tones of amplitude amp have power amp^2.
		sigma := amp * math.Pow(10, opts.NoiseDB/20)
		rng := rand.New(rand.NewPCG(opts.Seed, 0x64746d66))
		for i := range out {
			out[i] += float32(sigma * rng.NormFloat64())
		}
	}
	return out
}
