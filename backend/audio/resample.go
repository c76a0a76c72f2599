package audio

import (
	"io"
	"math"
	"sync"
)

// The resampler is a windowed-sinc polyphase filter evaluated at exact
// rational positions.
//
// With g = gcd(inRate, 16000), L = 16000/g and M = inRate/g, output sample
// n is the band-limited source evaluated at source position n*M/L (source
// time n/16000 s exactly). The position is kept as an integer part i and
// a phase p in [0, L) and advanced with integer arithmetic, so it never
// drifts, however long the file. The filter is symmetric and centred on
// that position, so it adds no delay: a click at source time t comes out
// at output time t, rounded to the nearest output sample.
//
// The prototype filter is a sinc with its cutoff at cutoffRatio of the
// lower Nyquist frequency (7760 Hz when going down to 16 kHz), shaped by a
// Kaiser window (beta kaiserBeta) that spans halfZeros zero crossings of
// the lower rate on each side. For 44.1 or 48 kHz input that is 178 or
// 192 taps per output sample; the response is flat within 0.001 dB up to
// 7 kHz and at least 90 dB down from 8.5 kHz up.
//
// Each of the L phases gets its own row of taps, normalised to a DC gain
// of exactly 1. When a ratio needs more rows than maxBankCoefs allows
// (rates with no useful common factor with 16000, such as 47999 Hz), the
// bank holds a fixed grid of phases instead and interpolates linearly
// between the two nearest rows; positions stay exact.
//
// Before the first sample and after the last the source is taken as
// silence, and the output has ceil(inLen*16000/inRate) samples: every
// output instant n/16000 that falls before the source's end inLen/inRate.
const (
	cutoffRatio  = 0.97
	kaiserBeta   = 9.0
	halfZeros    = 32
	maxBankCoefs = 1 << 20 // float32s per filter bank (4 MiB)
	interpPhases = 1024    // largest phase grid of an interpolated bank
)

// filterBank holds the polyphase coefficients for one source rate.
type filterBank struct {
	l, m   int // output/input step: L outputs every M inputs
	half   int // taps on each side of the position, in source samples
	taps   int // 2*half
	interp int // phase grid size when interpolating; 0 for exact rows
	coef   []float32
}

var (
	bankMu    sync.Mutex
	bankCache = map[int]*filterBank{}
)

// bankFor returns the (shared, read-only) filter bank for a source rate.
func bankFor(rate int) *filterBank {
	bankMu.Lock()
	defer bankMu.Unlock()
	if b, ok := bankCache[rate]; ok {
		return b
	}
	b := newFilterBank(rate, SampleRate)
	if len(bankCache) >= 8 {
		for k := range bankCache {
			delete(bankCache, k)
			break
		}
	}
	bankCache[rate] = b
	return b
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newFilterBank(in, out int) *filterBank {
	g := gcd(in, out)
	b := &filterBank{l: out / g, m: in / g}
	lower := float64(min(in, out))
	// Cutoff as a fraction of the source rate, and the window half-width
	// in source samples.
	fc := cutoffRatio * lower / 2 / float64(in)
	width := halfZeros * float64(in) / lower
	b.half = int(math.Ceil(width))
	b.taps = 2 * b.half

	rows, grid := b.l, b.l
	if b.l*b.taps > maxBankCoefs {
		grid = max(64, min(interpPhases, maxBankCoefs/b.taps-1))
		rows = grid + 1
		b.interp = grid
	}
	b.coef = make([]float32, rows*b.taps)
	den := besselI0(kaiserBeta)
	row := make([]float64, b.taps)
	for r := 0; r < rows; r++ {
		frac := float64(r) / float64(grid)
		var sum float64
		for k := range row {
			// Tap k multiplies source sample i-half+1+k; its distance
			// from the position i+frac is t.
			t := frac + float64(b.half-1-k)
			v := 0.0
			if x := t / width; x > -1 && x < 1 {
				v = 2 * fc * sinc(2*fc*t) * besselI0(kaiserBeta*math.Sqrt(1-x*x)) / den
			}
			row[k] = v
			sum += v
		}
		dst := b.coef[r*b.taps : (r+1)*b.taps]
		for k, v := range row {
			dst[k] = float32(v / sum)
		}
	}
	return b
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// resampler converts a mono source at an arbitrary rate to 16 kHz.
type resampler struct {
	src  func([]float32) (int, error)
	bank *filterBank
	qi   int64 // M / L: whole source samples per output step
	qp   int   // M % L: phase advance per output step

	// buf holds source samples from index base on; index -half..-1 are
	// the silent lead-in.
	buf  []float32
	base int64

	i int64 // position of the next output: source index ...
	p int   // ... plus phase p/L
	n int64 // index of the next output

	srcDone bool
	outEnd  int64 // number of outputs, known once the source has ended
	err     error // sticky source error
}

const resampleReadBlock = 4096

func newResampler(rate int, src func([]float32) (int, error)) *resampler {
	b := bankFor(rate)
	r := &resampler{
		src:    src,
		bank:   b,
		qi:     int64(b.m / b.l),
		qp:     b.m % b.l,
		outEnd: -1,
	}
	r.buf = make([]float32, b.half, b.taps+resampleReadBlock+b.half)
	r.base = -int64(b.half)
	return r
}

// outputLen is the number of 16 kHz samples made from inLen source samples.
func (b *filterBank) outputLen(inLen int64) int64 {
	if inLen <= 0 {
		return 0
	}
	return (inLen*int64(b.l) + int64(b.m) - 1) / int64(b.m)
}

// read fills out; it may return n > 0 together with an error.
func (r *resampler) read(out []float32) (int, error) {
	done := 0
	for done < len(out) {
		if r.outEnd >= 0 && r.n >= r.outEnd {
			return done, io.EOF
		}
		k := r.run(out[done:])
		done += k
		if done == len(out) {
			break
		}
		if r.outEnd >= 0 && r.n >= r.outEnd {
			continue
		}
		// Not enough source ahead of the position: read more.
		if r.err != nil {
			return done, r.err
		}
		if err := r.fill(); err != nil {
			r.err = err
			return done, err
		}
	}
	return done, nil
}

// fill drops samples no longer needed and reads one block from the source.
// At the source's end it appends the silent tail and sets outEnd.
func (r *resampler) fill() error {
	b := r.bank
	if r.srcDone {
		return io.ErrUnexpectedEOF // unreachable: the tail covers every output
	}
	if drop := r.i - int64(b.half) + 1 - r.base; drop > 0 {
		drop = min(drop, int64(len(r.buf)))
		kept := copy(r.buf, r.buf[drop:])
		r.buf = r.buf[:kept]
		r.base += drop
	}
	if len(r.buf) == cap(r.buf) {
		// Cannot happen while the buffer holds only the taps of one
		// position, but never spin on a full buffer.
		r.buf = append(r.buf, make([]float32, resampleReadBlock)...)[:len(r.buf)]
	}
	for tries := 0; ; tries++ {
		n, err := r.src(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if err == io.EOF {
			r.finish()
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if tries >= 100 {
			return io.ErrNoProgress
		}
	}
}

func (r *resampler) finish() {
	b := r.bank
	r.srcDone = true
	inLen := r.base + int64(len(r.buf))
	r.outEnd = b.outputLen(inLen)
	for range b.half + 1 {
		r.buf = append(r.buf, 0)
	}
}

// run computes outputs while the buffer holds every tap they need.
func (r *resampler) run(out []float32) int {
	b := r.bank
	taps, half := b.taps, int64(b.half)
	avail := r.base + int64(len(r.buf)) // first index not in buf
	k := 0
	for k < len(out) {
		if r.outEnd >= 0 && r.n >= r.outEnd {
			break
		}
		if r.i+half >= avail {
			break
		}
		start := int(r.i - half + 1 - r.base)
		x := r.buf[start : start+taps]
		var y float32
		if b.interp == 0 {
			y = dot(x, b.coef[r.p*taps:(r.p+1)*taps])
		} else {
			pos := r.p * b.interp
			row := pos / b.l
			a := float32(pos%b.l) / float32(b.l)
			y0 := dot(x, b.coef[row*taps:(row+1)*taps])
			y1 := dot(x, b.coef[(row+1)*taps:(row+2)*taps])
			y = y0 + a*(y1-y0)
		}
		out[k] = clampSample(y)
		k++
		r.n++
		r.i += r.qi
		r.p += r.qp
		if r.p >= b.l {
			r.p -= b.l
			r.i++
		}
	}
	return k
}

// dotGo is the inner product of two equally long vectors, with four
// independent accumulators (dot uses AVX2 where the CPU has it).
func dotGo(x, h []float32) float32 {
	h = h[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * h[i]
		s1 += x[i+1] * h[i+1]
		s2 += x[i+2] * h[i+2]
		s3 += x[i+3] * h[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * h[i]
	}
	return (s0 + s1) + (s2 + s3)
}
