package audio

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkDecodeResample44k decodes, resamples and chunks 60 s of 44.1 kHz
// stereo 16-bit PCM held in memory: the whole pipeline but the disk.
func BenchmarkDecodeResample44k(b *testing.B) {
	const rate, seconds = 44100, 60
	rng := rand.New(rand.NewPCG(17, 18))
	x := make([]float32, 2*rate*seconds)
	noise(rng, x, 0.3)
	for i, v := range tone(440, 0.3, 0, rate, rate*seconds) {
		x[2*i] += v
		x[2*i+1] -= v
	}
	data := wavBytes(b, x, rate, 2, PCM16)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := NewWAVDecoder(bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		c := NewChunker(d, ChunkOptions{})
		var total int
		for {
			ch, err := c.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			total += len(ch.Samples)
		}
		if total != seconds*SampleRate {
			b.Fatalf("%d samples", total)
		}
	}
}
