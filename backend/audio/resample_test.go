package audio

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// steady drops the edges of a resampled signal, where the filter still
// sees the silence before the start or after the end.
func steady(y []float32) []float32 {
	const edge = 2 * halfZeros
	return y[edge : len(y)-edge]
}

// Passband and stopband of the 44.1 and 48 kHz paths, measured with pure
// tones: within 0.5 dB from 100 Hz to 7 kHz, and at least 60 dB of
// rejection from 8.5 to 20 kHz (the brief); the design does far better,
// and the test holds it to that so a regression shows.
func TestResamplerResponse(t *testing.T) {
	passband := []float64{100, 200, 440, 1000, 2000, 3000, 4000, 5000, 6000, 6500, 6800, 7000}
	stopband := []float64{8500, 8600, 9000, 10000, 11025, 12000, 14000, 16000, 18000, 20000}
	const amp = 0.5
	for _, rate := range []int{44100, 48000, 22050, 32000, 96000} {
		var ripple float64
		rejection := math.Inf(1)
		for _, f := range passband {
			y := steady(resampleSlice(t, rate, tone(f, amp, 0.3, rate, rate/4)))
			a, _ := fitTone(y, f, SampleRate)
			ripple = max(ripple, math.Abs(db(a/amp)))
		}
		for _, f := range stopband {
			if f >= float64(rate)/2 {
				continue
			}
			y := steady(resampleSlice(t, rate, tone(f, amp, 0.3, rate, rate/4)))
			rejection = min(rejection, db(amp/math.Sqrt2/rms(y)))
		}
		t.Logf("%d Hz -> 16 kHz: passband ripple %.4f dB (100 Hz..7 kHz), stopband rejection >= %.1f dB (8.5 kHz up)", rate, ripple, rejection)
		if ripple > 0.01 {
			t.Errorf("%d Hz: passband ripple %.4f dB", rate, ripple)
		}
		if rate <= 2*8500 {
			continue
		}
		if rejection < 80 {
			t.Errorf("%d Hz: stopband rejection only %.1f dB", rate, rejection)
		}
	}
}

// Going up from 8 kHz keeps the band and rejects the images.
func TestResamplerUpsample(t *testing.T) {
	for _, rate := range []int{8000, 11025, 12000} {
		for _, f := range []float64{300, 1000, 3000, 3500} {
			x := tone(f, 0.5, 1, rate, rate/2)
			y := steady(resampleSlice(t, rate, x))
			a, res := fitTone(y, f, SampleRate)
			gain := db(a / 0.5)
			images := db(res / (a / math.Sqrt2))
			if math.Abs(gain) > 0.01 || images > -80 {
				t.Errorf("%d Hz, %.0f Hz tone: gain %.4f dB, images at %.1f dB", rate, f, gain, images)
			}
		}
	}
}

// A constant stays that constant: every phase has a DC gain of exactly 1.
func TestResamplerDC(t *testing.T) {
	for _, rate := range []int{8000, 11025, 22050, 44100, 48000, 47999, 12345, 96000} {
		x := make([]float32, rate/2)
		for i := range x {
			x[i] = 0.25
		}
		for i, v := range steady(resampleSlice(t, rate, x)) {
			if math.Abs(float64(v)-0.25) > 1e-6 {
				t.Fatalf("%d Hz: output %d is %v, want 0.25", rate, i, v)
			}
		}
	}
}

// Output length is ceil(inLen*16000/rate) for every rate and length.
func TestResamplerLength(t *testing.T) {
	rates := []int{1000, 8000, 11025, 12000, 22050, 24000, 32000, 44100, 47999, 48000, 88200, 96000, 192000, 768000}
	lengths := []int{0, 1, 2, 3, 159, 160, 161, 440, 441, 442, 1000, 44099, 44100, 44101}
	for _, rate := range rates {
		for _, n := range lengths {
			got := len(resampleSlice(t, rate, make([]float32, n)))
			want := int(math.Ceil(float64(n) * SampleRate / float64(rate)))
			if got != want {
				t.Errorf("%d samples at %d Hz: %d outputs, want %d", n, rate, got, want)
			}
		}
	}
}

// clickAt resamples a single impulse and checks where it lands: on the
// output sample nearest to its source time, and (when that time falls on
// an output sample) with a symmetric response around it, i.e. no delay.
func clickAt(t *testing.T, rate, pos, n int) {
	t.Helper()
	x := make([]float32, n)
	x[pos] = 1
	y := resampleSlice(t, rate, x)
	peak := 0
	for i, v := range y {
		if math.Abs(float64(v)) > math.Abs(float64(y[peak])) {
			peak = i
		}
	}
	exact := float64(pos) * SampleRate / float64(rate)
	limit := 0.5 + 1e-9 // the nearest output sample...
	if math.Round(exact) >= float64(len(y)) {
		limit = 1 // ... unless that lies past the end
	}
	if d := math.Abs(float64(peak) - exact); d > limit {
		t.Errorf("%d Hz: click at source sample %d (output %.3f) peaks at output %d", rate, pos, exact, peak)
	}
	if exact == math.Trunc(exact) && peak > 40 && peak+40 < len(y) {
		for k := 1; k <= 40; k++ {
			if d := math.Abs(float64(y[peak-k] - y[peak+k])); d > 1e-6 {
				t.Errorf("%d Hz: response around the click is not symmetric at ±%d: %v vs %v", rate, k, y[peak-k], y[peak+k])
				break
			}
		}
	}
}

func TestResamplerClickTiming(t *testing.T) {
	for _, rate := range []int{8000, 11025, 22050, 32000, 44100, 48000, 96000, 47999, 12345} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			n := rate / 2
			// Positions on an output instant (a multiple of M) and off it.
			g := gcd(rate, SampleRate)
			m := rate / g
			for _, pos := range []int{m * (n / 2 / m), n/2 + 1, n/3 + 7, 0, n - 1} {
				clickAt(t, rate, pos, n)
			}
		})
	}
}

// clickSource yields n samples of silence with unit clicks at the given
// source indices, without holding them in memory.
type clickSource struct {
	n, pos int
	clicks []int
}

func (c *clickSource) Read(p []float32) (int, error) {
	if c.pos >= c.n {
		return 0, io.EOF
	}
	k := min(len(p), c.n-c.pos)
	clear(p[:k])
	for _, at := range c.clicks {
		if at >= c.pos && at < c.pos+k {
			p[at-c.pos] = 1
		}
	}
	c.pos += k
	return k, nil
}

// Ten minutes of 44.1 kHz: a click near the end lands exactly where it
// belongs, so positions do not drift, and the length is exact.
func TestResamplerNoDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("resamples ten minutes of audio")
	}
	const rate = 44100
	n := 10 * 60 * rate
	clicks := []int{rate, n - rate/2 - 3, n - 441*7}
	src := &clickSource{n: n, clicks: clicks}
	r := newResampler(rate, src.Read)
	buf := make([]float32, 8192)
	peaks := map[int]float32{}
	var total int
	for {
		k, err := r.read(buf)
		for i, v := range buf[:k] {
			if v > 0.2 { // a click comes out as a sinc peaking at 16000*0.97/44100
				peaks[total+i] = v
			}
		}
		total += k
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := 10 * 60 * SampleRate; total != want {
		t.Fatalf("%d outputs, want %d", total, want)
	}
	if len(peaks) != len(clicks) {
		t.Errorf("%d peaks for %d clicks: %v", len(peaks), len(clicks), peaks)
	}
	for _, c := range clicks {
		exact := float64(c) * SampleRate / rate
		near := int(math.Round(exact))
		if _, ok := peaks[near]; !ok {
			t.Errorf("click at %.6f s (output %.3f): no peak at output %d; peaks %v", float64(c)/rate, exact, near, peaks)
		}
	}
}

// Our resampler agrees with soxr (through ffmpeg, at its highest
// precision) on a 100 Hz..6.5 kHz sweep: same timing, same gain.
func TestResamplerMatchesSoxr(t *testing.T) {
	open := func(name string) []float32 {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewWAVDecoder(bytes.NewReader(b), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, d)
	}
	ours := open("sweep-f32-mono-44k.wav")
	ref := open("sweep-soxr-16k.wav")
	if len(ours) != len(ref) {
		t.Fatalf("%d samples, soxr made %d", len(ours), len(ref))
	}
	var sig, noise float64
	for i := range steady(ref) {
		i += 2 * halfZeros
		d := float64(ours[i] - ref[i])
		sig += float64(ref[i]) * float64(ref[i])
		noise += d * d
	}
	snr := 10 * math.Log10(sig/noise)
	t.Logf("SNR against soxr: %.1f dB", snr)
	if snr < 80 {
		t.Errorf("SNR against soxr is %.1f dB", snr)
	}
}

func TestFilterBankShapes(t *testing.T) {
	tests := []struct {
		rate, l, m, taps int
		interp           bool
	}{
		{44100, 160, 441, 178, false},
		{48000, 1, 3, 192, false},
		{22050, 320, 441, 90, false},
		{11025, 640, 441, 64, false},
		{8000, 2, 1, 64, false},
		{32000, 1, 2, 128, false},
		{47999, 16000, 47999, 192, true},
	}
	for _, tt := range tests {
		b := newFilterBank(tt.rate, SampleRate)
		if b.l != tt.l || b.m != tt.m || b.taps != tt.taps || (b.interp > 0) != tt.interp || len(b.coef) > maxBankCoefs+b.taps {
			t.Errorf("%d Hz: L=%d M=%d taps=%d interp=%d coefs=%d", tt.rate, b.l, b.m, b.taps, b.interp, len(b.coef))
		}
	}
}
