package audio

import (
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// synthWAV is a WAV byte stream generated on the fly: a 16-bit header
// followed by frames of a slow ramp, never held in memory.
type synthWAV struct {
	header []byte
	frames int64
	ch     int
	pos    int64 // bytes of data produced
	failAt int64 // return errFail once this many data bytes are out; 0 never
}

var errFail = errors.New("device unplugged")

func newSynthWAV(rate, ch int, frames int64) *synthWAV {
	dataSize := frames * int64(ch) * 2
	h := []byte("RIFF")
	h = binary.LittleEndian.AppendUint32(h, uint32(min(36+dataSize, 0xFFFFFFFF)))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = append(h, fmtBody(tagPCM, uint16(ch), uint32(rate), uint16(2*ch), 16)...)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(min(dataSize, 0xFFFFFFFF)))
	return &synthWAV{header: h, frames: frames, ch: ch}
}

func (s *synthWAV) Read(p []byte) (int, error) {
	if len(s.header) > 0 {
		n := copy(p, s.header)
		s.header = s.header[n:]
		return n, nil
	}
	total := s.frames * int64(s.ch) * 2
	if s.failAt > 0 && s.pos >= s.failAt {
		return 0, errFail
	}
	if s.pos >= total {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), total-s.pos, 4096)) &^ 1
	for i := 0; i < n; i += 2 {
		v := int16((s.pos + int64(i)) / 2 % 20000)
		binary.LittleEndian.PutUint16(p[i:], uint16(v))
	}
	s.pos += int64(n)
	return n, nil
}

// Decoding allocates the same small amount however long the file is: a
// long file streams through fixed buffers.
func TestDecoderMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes an hour of audio")
	}
	cases := []struct {
		rate, ch int
		seconds  int64
	}{
		{16000, 1, 3600}, // an hour, passthrough
		{44100, 2, 120},  // two minutes through the resampler
	}
	for _, c := range cases {
		bankFor(c.rate) // the shared filter bank is not per-file memory
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d, err := NewWAVDecoder(newSynthWAV(c.rate, c.ch, c.seconds*int64(c.rate)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float32, 8192)
		var total int64
		for {
			n, err := d.Read(buf)
			total += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if total != c.seconds*SampleRate {
			t.Fatalf("%d Hz: %d samples", c.rate, total)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%d s at %d Hz: %d KiB allocated in all", c.seconds, c.rate, alloc/1024)
		if alloc > 1<<20 {
			t.Errorf("%d s at %d Hz allocated %d bytes: decoding does not stream", c.seconds, c.rate, alloc)
		}
	}
}

// A read error in the middle of the data ends the stream with that error.
func TestDecoderReadError(t *testing.T) {
	for _, rate := range []int{16000, 48000} {
		src := newSynthWAV(rate, 1, int64(rate))
		src.failAt = 20000
		d, err := NewWAVDecoder(src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float32, 1000)
		var total int
		for {
			n, err := d.Read(buf)
			if n > 0 && err != nil {
				t.Fatal("n > 0 with an error")
			}
			total += n
			if err == nil {
				continue
			}
			if !errors.Is(err, errFail) || !errors.Is(d.Err(), errFail) {
				t.Fatalf("%d Hz: Read error %v, Err %v", rate, err, d.Err())
			}
			break
		}
		if _, err := d.Read(buf); !errors.Is(err, errFail) {
			t.Fatalf("the error is not sticky: %v", err)
		}
		if total == 0 || total > (20000+4096)/2*SampleRate/rate { // bufio reads ahead one 4 KiB read
			t.Fatalf("%d Hz: %d samples before the error", rate, total)
		}
	}
}
