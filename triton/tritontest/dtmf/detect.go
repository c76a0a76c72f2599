package dtmf

import "math"

// Tuning of the detector. Times are seconds; ratios are power ratios.
const (
	frameWindow = 0.025 // coarse pass: analysis window
	frameHop    = 0.010 // coarse pass: hop between window centres
	envWindow   = 0.010 // fine pass: moving-average length
	envStep     = 0.0005

	// A frame holds a key when the key's two tones carry at least this share
	// of the frame's power, the weaker tone is within maxTwist of the
	// stronger, and each tone beats the runner-up of its group by minPeak.
	minToneShare = 0.5
	maxTwist     = 6.3 // 8 dB
	minPeak      = 4.0 // 6 dB
	// Frames quieter than this mean square (-80 dBFS) are silence.
	minFramePower = 1e-8
	// Presses shorter than this (half way between the 30 ms that must be
	// ignored and the 40 ms that must be reported) are dropped.
	minDuration = 0.035
)

// Detect returns the key presses in samples (mono, sampleRate Hz) in time
// order. A press is reported when it lasts MinPress or more; a press cut by
// the first or last sample is reported with Start 0 or End at the duration.
// Sample rates below 4 kHz cannot carry DTMF and give no presses.
func Detect(samples []float32, sampleRate int) []Press {
	if sampleRate < 4000 || len(samples) == 0 {
		return nil
	}
	d := newDetector(samples, sampleRate)
	var out []Press
	for _, r := range d.runs() {
		out = append(out, d.refine(r)...)
	}
	return out
}

type detector struct {
	x     []float32
	sr    float64
	win   int // coarse window, samples
	hop   int
	hann  []float64
	coeff [8]float64 // Goertzel 2cos(w) for rows then columns
	norm  float64    // scales Goertzel power to the power of a sinusoid
	sumW2 float64
	buf   []float64
}

func newDetector(x []float32, sampleRate int) *detector {
	sr := float64(sampleRate)
	d := &detector{x: x, sr: sr}
	d.win = int(math.Round(frameWindow * sr))
	d.hop = int(math.Round(frameHop * sr))
	d.hann = make([]float64, d.win)
	var sumW float64
	for i := range d.hann {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(d.win))
		d.hann[i] = w
		sumW += w
		d.sumW2 += w * w
	}
	// A sinusoid of amplitude A gives |X|^2 = (A*sumW/2)^2 and windowed
	// power A^2/2*sumW2; norm makes the first equal the second.
	d.norm = 2 * d.sumW2 / (sumW * sumW)
	for i, f := range rowFreqs {
		d.coeff[i] = 2 * math.Cos(2*math.Pi*f/sr)
	}
	for i, f := range colFreqs {
		d.coeff[4+i] = 2 * math.Cos(2*math.Pi*f/sr)
	}
	d.buf = make([]float64, d.win)
	return d
}

// run is a stretch of coarse frames [first, last] classified as key.
type run struct {
	key         int // index into Keys
	first, last int
}

// frameKey classifies the frame centred on sample c (zero outside the
// signal) and returns the index into Keys, or -1.
func (d *detector) frameKey(c int) int {
	start := c - d.win/2
	var energy float64
	for i := range d.buf {
		j := start + i
		v := 0.0
		if j >= 0 && j < len(d.x) {
			v = float64(d.x[j]) * d.hann[i]
		}
		d.buf[i] = v
		energy += v * v
	}
	if energy/d.sumW2 < minFramePower {
		return -1
	}
	// Eight Goertzel filters in one pass over the frame.
	var s1, s2 [8]float64
	c0, c1, c2, c3, c4, c5, c6, c7 := d.coeff[0], d.coeff[1], d.coeff[2], d.coeff[3], d.coeff[4], d.coeff[5], d.coeff[6], d.coeff[7]
	for _, v := range d.buf {
		s1[0], s2[0] = v+c0*s1[0]-s2[0], s1[0]
		s1[1], s2[1] = v+c1*s1[1]-s2[1], s1[1]
		s1[2], s2[2] = v+c2*s1[2]-s2[2], s1[2]
		s1[3], s2[3] = v+c3*s1[3]-s2[3], s1[3]
		s1[4], s2[4] = v+c4*s1[4]-s2[4], s1[4]
		s1[5], s2[5] = v+c5*s1[5]-s2[5], s1[5]
		s1[6], s2[6] = v+c6*s1[6]-s2[6], s1[6]
		s1[7], s2[7] = v+c7*s1[7]-s2[7], s1[7]
	}
	var p [8]float64
	for i := range p {
		p[i] = (s1[i]*s1[i] + s2[i]*s2[i] - d.coeff[i]*s1[i]*s2[i]) * d.norm
	}
	r, r2 := best2(p[0:4])
	k, k2 := best2(p[4:8])
	pr, pc := p[r], p[4+k]
	switch {
	case pr+pc < minToneShare*energy:
		return -1
	case pr > maxTwist*pc || pc > maxTwist*pr:
		return -1
	case pr < minPeak*p[r2] || pc < minPeak*p[4+k2]:
		return -1
	}
	return r*4 + k
}

// best2 returns the indices of the largest and second-largest of p.
func best2(p []float64) (first, second int) {
	first, second = 0, 1
	if p[1] > p[0] {
		first, second = 1, 0
	}
	for i := 2; i < len(p); i++ {
		switch {
		case p[i] > p[first]:
			first, second = i, first
		case p[i] > p[second]:
			second = i
		}
	}
	return first, second
}

// runs classifies frames centred every hop from sample 0 to the last sample
// and returns the stretches of one key. A single unclassified frame inside a
// stretch does not break it; refine splits real gaps.
func (d *detector) runs() []run {
	var out []run
	n := len(d.x)/d.hop + 1
	for f := 0; f < n; f++ {
		key := d.frameKey(f * d.hop)
		if key < 0 {
			continue
		}
		if len(out) > 0 {
			last := &out[len(out)-1]
			if last.key == key && f-last.last <= 2 {
				last.last = f
				continue
			}
		}
		out = append(out, run{key: key, first: f, last: f})
	}
	return out
}

// refine measures the amplitude of the run's two tones finely and returns
// the presses where both stay above half their peak for minDuration.
func (d *detector) refine(r run) []Press {
	row, col := rowFreqs[r.key/4], colFreqs[r.key%4]
	half := int(math.Round(envWindow * d.sr / 2))
	// Window centres range over the frames of the run, widened by the
	// coarse window on each side so the edges of the press are included.
	lo := max(r.first*d.hop-d.win, 0)
	hi := min(r.last*d.hop+d.win, len(d.x))
	// Prefix sums of the signal mixed down by each tone, over the samples
	// any moving-average window can touch.
	a := max(lo-half, 0)
	b := min(hi+half, len(d.x))
	pr := mixPrefix(d.x[a:b], row/d.sr)
	pc := mixPrefix(d.x[a:b], col/d.sr)
	amp := func(p []complex128, c int) float64 {
		i := min(max(c-half, a), b) - a
		j := min(max(c+half, a), b) - a
		s := p[j] - p[i]
		return math.Hypot(real(s), imag(s)) / float64(half)
	}
	step := d.sr * envStep
	nsteps := int(math.Ceil(float64(hi-lo)/step)) + 1
	pos := make([]float64, nsteps) // window centre of each step, samples
	env := make([]float64, nsteps)
	peak := 0.0
	for i := range env {
		c := min(lo+int(math.Round(float64(i)*step)), hi)
		e := min(amp(pr, c), amp(pc, c))
		pos[i], env[i] = float64(c), e
		peak = max(peak, e)
	}
	if peak == 0 {
		return nil
	}
	level := peak / 2
	// cross returns the position where env crosses level between steps
	// i-1 and i.
	cross := func(i int) float64 {
		e0, e1 := env[i-1], env[i]
		return pos[i-1] + (pos[i]-pos[i-1])*(level-e0)/(e1-e0)
	}
	key := rune(Keys[r.key])
	var out []Press
	start := -1.0
	for i, e := range env {
		above := e >= level
		switch {
		case above && start < 0:
			start = pos[0]
			if i > 0 {
				start = cross(i)
			}
		case !above && start >= 0:
			out = appendPress(out, key, start/d.sr, cross(i)/d.sr)
			start = -1
		}
	}
	if start >= 0 {
		out = appendPress(out, key, start/d.sr, pos[len(pos)-1]/d.sr)
	}
	return out
}

func appendPress(out []Press, key rune, start, end float64) []Press {
	if end-start < minDuration {
		return out
	}
	return append(out, Press{Key: key, Start: start, End: end})
}

// mixPrefix returns p with p[i] = sum of x[m]*exp(-j*2*pi*f*m) for m < i,
// f in cycles per sample.
func mixPrefix(x []float32, f float64) []complex128 {
	p := make([]complex128, len(x)+1)
	rot := complex(math.Cos(2*math.Pi*f), -math.Sin(2*math.Pi*f))
	ph := complex(1, 0)
	var acc complex128
	for i, v := range x {
		acc += complex(float64(v), 0) * ph
		p[i+1] = acc
		ph *= rot
		if i&1023 == 1023 { // keep the phasor on the unit circle
			ph /= complex(math.Hypot(real(ph), imag(ph)), 0)
		}
	}
	return p
}
