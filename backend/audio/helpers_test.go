package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

// sliceStream is a Stream over a slice that hands out at most step
// samples per Read (all of p when step is 0).
type sliceStream struct {
	x    []float32
	step int
}

func (s *sliceStream) Read(p []float32) (int, error) {
	if len(s.x) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if s.step > 0 {
		n = min(n, s.step)
	}
	n = copy(p[:n], s.x)
	s.x = s.x[n:]
	return n, nil
}

// readAll drains a Stream, failing the test on any error but io.EOF.
func readAll(t testing.TB, s Stream) []float32 {
	t.Helper()
	var out []float32
	buf := make([]float32, 3001) // odd size: exercise partial blocks
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if n == 0 {
			t.Fatal("Read returned 0, nil")
		}
	}
}

// resampleSlice runs the resampler over an in-memory mono signal.
func resampleSlice(t testing.TB, rate int, x []float32) []float32 {
	t.Helper()
	if rate == SampleRate {
		return append([]float32(nil), x...)
	}
	src := &sliceStream{x: x, step: 1000}
	r := newResampler(rate, src.Read)
	var out []float32
	buf := make([]float32, 4096)
	for {
		n, err := r.read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("resample: %v", err)
		}
	}
}

// tone is amp*sin(2*pi*f*n/rate + phase) for n in [0, n).
func tone(f, amp, phase float64, rate, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)+phase))
	}
	return x
}

// fitTone measures the amplitude of a sinusoid of frequency f in x (least
// squares on sin and cos), and the RMS of what is left over.
func fitTone(x []float32, f float64, rate int) (amp, residual float64) {
	var ss, cc, sc, xs, xc float64
	for i, v := range x {
		w := 2 * math.Pi * f * float64(i) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss += s * s
		cc += c * c
		sc += s * c
		xs += float64(v) * s
		xc += float64(v) * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	var r float64
	for i, v := range x {
		w := 2 * math.Pi * f * float64(i) / float64(rate)
		d := float64(v) - a*math.Sin(w) - b*math.Cos(w)
		r += d * d
	}
	return math.Hypot(a, b), math.Sqrt(r / float64(len(x)))
}

func rms(x []float32) float64 { return math.Sqrt(meanSquare(x)) }

func db(x float64) float64 { return 20 * math.Log10(x) }

// wavBytes is WriteWAV into memory.
func wavBytes(t testing.TB, x []float32, rate, channels int, f WAVFormat) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteWAV(&b, x, rate, channels, f); err != nil {
		t.Fatalf("WriteWAV: %v", err)
	}
	return b.Bytes()
}

// riff assembles a RIFF file by hand: a form type and raw chunks, each
// already carrying its own header (see chunk).
func riff(magic, form string, chunks ...[]byte) []byte {
	body := []byte(form)
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := []byte(magic)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// chunk makes a chunk with its header; pad adds the pad byte after an odd
// body, as the format requires (some writers forget it).
func chunk(id string, body []byte, pad bool) []byte {
	return chunkSized(id, uint32(len(body)), body, pad)
}

func chunkSized(id string, size uint32, body []byte, pad bool) []byte {
	out := []byte(id)
	out = binary.LittleEndian.AppendUint32(out, size)
	out = append(out, body...)
	if pad && len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// fmtBody is a plain fmt chunk body.
func fmtBody(tag, channels uint16, rate uint32, blockAlign, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(blockAlign))
	b = le.AppendUint16(b, blockAlign)
	return le.AppendUint16(b, bits)
}

// extFmtBody is a WAVE_FORMAT_EXTENSIBLE fmt chunk body with a KSDATAFORMAT
// sub-format for subTag.
func extFmtBody(subTag, channels uint16, rate uint32, blockAlign, bits, validBits uint16) []byte {
	le := binary.LittleEndian
	b := fmtBody(tagExtensible, channels, rate, blockAlign, bits)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, validBits)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, subTag)
	return append(b, ksSubtypeTail[:]...)
}

func le16s(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

// onlyReader hides every method but Read (no Seek), as a pipe would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
