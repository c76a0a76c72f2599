package live

import (
	"math"
	"math/cmplx"
	"time"
)

// VADOptions tune the voice-activity detector and how it cuts utterances.
// Zero values take the defaults.
type VADOptions struct {
	// Pause is how long the input must stay quiet after voice for the
	// utterance to end (default 450 ms). Most of a final's latency is
	// this wait.
	Pause time.Duration
	// PreRoll is audio kept before the first voiced frame (default 200
	// ms), so soft onsets are not clipped.
	PreRoll time.Duration
	// Tail is audio kept after the last voiced frame (default 150 ms, at
	// most Pause).
	Tail time.Duration
	// MinVoice is the least voiced audio an utterance needs; shorter ones
	// (clicks, a cough of noise) are dropped (default 30 ms).
	MinVoice time.Duration
	// MarginDB is how far above the tracked noise floor a frame must be
	// to count as voice when it is also tonal (default 9 dB); LoudDB is
	// the margin at which any frame counts, tonal or not (default 22 dB).
	MarginDB, LoudDB float64
	// FloorDB is the absolute level under which nothing is voice (default
	// -65 dBFS).
	FloorDB float64
	// Flatness is the spectral flatness (0 for a pure tone, about 0.56
	// for white noise) under which a frame counts as tonal (default 0.4).
	Flatness float64
}

func (o VADOptions) withDefaults() VADOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Pause, 450*time.Millisecond)
	def(&o.PreRoll, 200*time.Millisecond)
	def(&o.Tail, 150*time.Millisecond)
	def(&o.MinVoice, 30*time.Millisecond)
	o.Tail = min(o.Tail, o.Pause)
	if o.MarginDB <= 0 {
		o.MarginDB = 9
	}
	if o.LoudDB <= 0 {
		o.LoudDB = 22
	}
	if o.FloorDB == 0 {
		o.FloorDB = -65
	}
	if o.Flatness <= 0 {
		o.Flatness = 0.4
	}
	return o
}

// Frames the detector classifies: 10 ms, analysed with a 256-point FFT.
const (
	frameSamples = SampleRate / 100
	fftSize      = 256
)

// vad classifies 10 ms frames as voice or not by their energy against a
// tracked noise floor and by their spectral flatness: voiced speech and
// key tones are peaked spectra, background noise is flat. The floor
// follows quiet frames quickly downwards and slowly upwards, and creeps
// up during long voice, so a noisier room is learnt within seconds while
// a held tone is not taken for noise.
type vad struct {
	o       VADOptions
	floor   float64 // noise floor, dBFS
	window  [frameSamples]float64
	buf     []complex128
	tw      []complex128
	lo, hi  int // bins scored for flatness (100 Hz .. 4 kHz)
	started bool
}

func newVAD(o VADOptions) *vad {
	v := &vad{o: o, floor: -70, buf: make([]complex128, fftSize), tw: make([]complex128, fftSize/2)}
	for i := range v.window {
		v.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/frameSamples)
	}
	for k := range v.tw {
		v.tw[k] = cmplx.Exp(complex(0, -2*math.Pi*float64(k)/fftSize))
	}
	v.lo = int(math.Ceil(100.0 * fftSize / SampleRate))
	v.hi = int(4000.0 * fftSize / SampleRate)
	return v
}

// frame classifies one frame of frameSamples samples; it returns whether
// it is voice and its level in dBFS (10*log10 of the mean square).
func (v *vad) frame(x []float32) (bool, float64) {
	ms := meanSquare(x)
	db := dbfs(ms)
	if !v.started { // learn the first frame's level as the floor, within reason
		v.started = true
		v.floor = math.Max(v.lowest(), math.Min(db, -45))
	}
	voiced := false
	if db > v.o.FloorDB && db > v.floor+v.o.MarginDB {
		voiced = db > v.floor+v.o.LoudDB || v.flatness(x) < v.o.Flatness
	}
	switch {
	case db < v.floor:
		v.floor += 0.2 * (db - v.floor)
	case !voiced:
		v.floor += 0.05 * (db - v.floor)
	default:
		v.floor += 0.01 // 1 dB a second while voice goes on
	}
	v.floor = math.Max(v.floor, v.lowest())
	return voiced, db
}

// lowest is as far down as the floor goes. Digital silence (a capture
// that starts with zeros, a muted input) would otherwise pull it so low
// that the room's noise after it counts as loud voice until the floor has
// crept back up, holding one utterance open for many seconds.
func (v *vad) lowest() float64 { return v.o.FloorDB - 5 }

// flatness is the spectral flatness of x's Hann-windowed power spectrum
// between 100 Hz and 4 kHz: geometric over arithmetic mean.
func (v *vad) flatness(x []float32) float64 {
	for i := range v.buf {
		v.buf[i] = 0
	}
	for i, s := range x[:frameSamples] {
		v.buf[i] = complex(float64(s)*v.window[i], 0)
	}
	fft(v.buf, v.tw)
	var logSum, sum float64
	n := 0
	for k := v.lo; k <= v.hi; k++ {
		p := real(v.buf[k])*real(v.buf[k]) + imag(v.buf[k])*imag(v.buf[k]) + 1e-20
		logSum += math.Log(p)
		sum += p
		n++
	}
	return math.Exp(logSum/float64(n)) / (sum / float64(n))
}

// fft is an in-place iterative radix-2 FFT; len(a) is a power of two and
// tw holds its len(a)/2 twiddle factors.
func fft(a []complex128, tw []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := n / size
		half := size / 2
		for start := 0; start < n; start += size {
			for k := 0; k < half; k++ {
				t := tw[k*step] * a[start+k+half]
				a[start+k+half] = a[start+k] - t
				a[start+k] += t
			}
		}
	}
}

func meanSquare(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s / float64(len(x))
}

func dbfs(ms float64) float64 {
	if ms <= 1e-13 {
		return -130
	}
	return 10 * math.Log10(ms)
}
