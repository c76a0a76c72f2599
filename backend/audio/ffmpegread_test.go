package audio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// ffmpeg's output is read straight into the caller's buffer: values out
// of range are clamped, NaN becomes silence, and a sample cut short at the
// end is dropped.
func TestReadFloats(t *testing.T) {
	in := []float32{0.5, -0.25, 1, -1, 1.5, -3, float32(math.NaN()), float32(math.Inf(1)), 0x1p-140}
	want := []float32{0.5, -0.25, 1, -1, 1, -1, 0, 1, 0x1p-140}
	var b bytes.Buffer
	for _, v := range in {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.Write([]byte{1, 2}) // half a sample
	for _, le := range []bool{true, false} {
		saved := littleEndian
		littleEndian = le && saved // the big-endian path runs anywhere
		s := &ffmpegSource{out: io.NopCloser(bytes.NewReader(b.Bytes()))}
		dst := make([]float32, len(in)+5)
		n, err := s.readFloats(dst)
		littleEndian = saved
		if n != len(want) || err != io.ErrUnexpectedEOF {
			t.Fatalf("littleEndian %v: %d samples, %v; want %d, unexpected EOF", le, n, err, len(want))
		}
		for i, w := range want {
			if dst[i] != w {
				t.Errorf("littleEndian %v: sample %d = %v, want %v", le, i, dst[i], w)
			}
		}
	}
}
