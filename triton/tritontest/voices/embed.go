package voices

import (
	"math"
	"math/cmplx"
)

const (
	// EmbeddingSize is the number of values of an embedding: points of a
	// log-f0 grid from gridLow to gridHigh Hz.
	EmbeddingSize = 128
	// BumpWidth is the standard deviation, in natural-log units of f0, of
	// the Gaussian an embedding places at the span's f0.
	BumpWidth = 0.03
	// MinSpan is the shortest span Embed is meant for, in seconds; the
	// voices model answers shorter ones with a zero row.
	MinSpan = 0.1

	gridLow  = 70.0
	gridHigh = 400.0

	// The pitch search: candidate f0s on a log grid of this step, each
	// scored by the harmonic sum over its harmonics below searchTopHz.
	searchLow   = 80.0
	searchHigh  = 340.0
	searchStep  = 0.002
	searchTopHz = 620.0

	// Decimation: the span is low-pass filtered below the DTMF tones and
	// kept at about this rate, so the spectrum costs little.
	decimatedRate = 2700.0
	filterCutoff  = 1100.0 // Hz, the windowed-sinc low-pass before decimation

	// A span whose strongest harmonic has an amplitude below this (-80
	// dBFS) holds no voice: it gets a zero embedding.
	minAmplitude = 1e-4
)

// Pitch estimates the f0 of the voice in samples (mono, sampleRate Hz) and
// returns it with the amplitude of its strongest harmonic; ok is false when
// there is no voice (silence, or nothing below 650 Hz).
func Pitch(samples []float32, sampleRate int) (f0, amplitude float64, ok bool) {
	if len(samples) == 0 || sampleRate < 2*int(MaxHarmonicHz) {
		return 0, 0, false
	}
	x, rate := decimate(samples, sampleRate)
	if len(x) < 8 {
		return 0, 0, false
	}
	spec := newSpectrum(x, rate)
	if spec.peak < minAmplitude {
		return 0, 0, false
	}
	n := int(math.Floor(math.Log(searchHigh/searchLow)/searchStep)) + 1
	scores := make([]float64, n)
	best := 0
	for i := range scores {
		f := searchLow * math.Exp(float64(i)*searchStep)
		var s float64
		for k := 1; float64(k)*f <= searchTopHz; k++ {
			s += spec.at(float64(k)*f) / float64(k)
		}
		scores[i] = s
		if s > scores[best] {
			best = i
		}
	}
	// Parabolic interpolation of the score around the best candidate.
	pos := float64(best)
	if best > 0 && best < n-1 {
		a, b, c := scores[best-1], scores[best], scores[best+1]
		if d := a - 2*b + c; d < 0 {
			pos += 0.5 * (a - c) / d
		}
	}
	f0 = searchLow * math.Exp(pos*searchStep)
	return f0, spec.peak, true
}

// Embed returns the embedding of samples: EmbeddingSize values of unit L2
// norm with a Gaussian bump at the span's f0 on a log-f0 grid, or all zeros
// when the span holds no voice.
func Embed(samples []float32, sampleRate int) []float32 {
	out := make([]float32, EmbeddingSize)
	f0, _, ok := Pitch(samples, sampleRate)
	if !ok {
		return out
	}
	return Bump(f0)
}

// Bump is the embedding of a voice of fundamental f0.
func Bump(f0 float64) []float32 {
	out := make([]float32, EmbeddingSize)
	lf := math.Log(f0)
	step := math.Log(gridHigh/gridLow) / (EmbeddingSize - 1)
	v := make([]float64, EmbeddingSize)
	var norm float64
	for j := range v {
		d := lf - (math.Log(gridLow) + float64(j)*step)
		v[j] = math.Exp(-d * d / (2 * BumpWidth * BumpWidth))
		norm += v[j] * v[j]
	}
	norm = math.Sqrt(norm)
	for j := range v {
		out[j] = float32(v[j] / norm)
	}
	return out
}

// Cosine is the cosine similarity of two embeddings (0 when either is zero).
func Cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// decimate low-passes x below filterCutoff (a Blackman-windowed sinc, zero
// outside x) and keeps every q-th sample, q chosen so the new rate is about
// decimatedRate: DTMF tones, which the filter only weakens, then fold to
// frequencies above 650 Hz, outside the pitch search.
func decimate(x []float32, sampleRate int) ([]float64, float64) {
	sr := float64(sampleRate)
	q := max(int(math.Round(sr/decimatedRate)), 1)
	half := int(math.Round(3 * sr / 1000)) // 97 taps at 16 kHz
	h := make([]float64, 2*half+1)
	fc := filterCutoff / sr
	var sum float64
	for i := range h {
		m := float64(i - half)
		s := 2 * fc
		if m != 0 {
			s = math.Sin(2*math.Pi*fc*m) / (math.Pi * m)
		}
		w := 0.42 + 0.5*math.Cos(math.Pi*m/float64(half+1)) + 0.08*math.Cos(2*math.Pi*m/float64(half+1))
		h[i] = s * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	out := make([]float64, (len(x)+q-1)/q)
	for o := range out {
		c := o * q
		var acc float64
		lo, hi := max(c-half, 0), min(c+half, len(x)-1)
		for j := lo; j <= hi; j++ {
			acc += h[j-c+half] * float64(x[j])
		}
		out[o] = acc
	}
	return out, sr / float64(q)
}

// spectrum is the amplitude spectrum of a Hann-windowed, zero-padded span:
// at(f) is the amplitude a sinusoid of frequency f would need to give it.
type spectrum struct {
	mag  []float64 // amplitude per bin, up to Nyquist
	bin  float64   // Hz per bin
	peak float64   // the largest amplitude between searchLow/2 and searchTopHz
}

func newSpectrum(x []float64, rate float64) *spectrum {
	n := 1024
	for n < 4*len(x) {
		n *= 2
	}
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	buf := make([]complex128, n)
	var wsum float64
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(len(x)))
		buf[i] = complex((v-mean)*w, 0)
		wsum += w
	}
	fft(buf)
	s := &spectrum{mag: make([]float64, n/2+1), bin: rate / float64(n)}
	for i := range s.mag {
		// A sinusoid of amplitude A peaks at A·wsum/2.
		s.mag[i] = 2 * cmplx.Abs(buf[i]) / wsum
		if f := float64(i) * s.bin; f >= searchLow/2 && f <= searchTopHz {
			s.peak = max(s.peak, s.mag[i])
		}
	}
	return s
}

// at is the amplitude at f Hz, linear between bins.
func (s *spectrum) at(f float64) float64 {
	p := f / s.bin
	i := int(p)
	if i < 0 || i+1 >= len(s.mag) {
		return 0
	}
	t := p - float64(i)
	return s.mag[i]*(1-t) + s.mag[i+1]*t
}

// fft is an in-place radix-2 decimation-in-time FFT; len(a) is a power of 2.
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
				w *= step
			}
		}
	}
}
