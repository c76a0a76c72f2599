package audio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// noise fills x with uniform noise of the given peak amplitude.
func noise(rng *rand.Rand, x []float32, amp float32) {
	for i := range x {
		x[i] = (rng.Float32()*2 - 1) * amp
	}
}

func sec(s float64) int { return int(math.Round(s * SampleRate)) }

// chunkAll drains a Chunker, checking the invariants every chunking must
// keep: indexes count up, offsets are contiguous, no chunk is empty or
// longer than window, and the chunks put back together are the input.
func chunkAll(t testing.TB, x []float32, step int, opts ChunkOptions, window int) []Chunk {
	t.Helper()
	c := NewChunker(&sliceStream{x: x, step: step}, opts)
	var chunks []Chunk
	var next int64
	for {
		ch, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if ch.Index != len(chunks) || ch.Offset != next {
			t.Fatalf("chunk %d: Index %d, Offset %d, want offset %d", len(chunks), ch.Index, ch.Offset, next)
		}
		if len(ch.Samples) == 0 || len(ch.Samples) > window {
			t.Fatalf("chunk %d: %d samples (window %d)", ch.Index, len(ch.Samples), window)
		}
		for i, v := range ch.Samples {
			if math.Float32bits(v) != math.Float32bits(x[ch.Offset+int64(i)]) {
				t.Fatalf("chunk %d sample %d differs from the input", ch.Index, i)
			}
		}
		next += int64(len(ch.Samples))
		chunks = append(chunks, ch)
	}
	if next != int64(len(x)) {
		t.Fatalf("chunks cover %d samples of %d", next, len(x))
	}
	if _, err := c.Next(); err != io.EOF {
		t.Fatalf("Next after the end: %v", err)
	}
	return chunks
}

// Loud noise with short quiet gaps inside each search region: every cut
// lands in a gap, on a frame wholly inside it.
func TestChunkerCutsInGaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, sec(100))
	noise(rng, x, 0.5)
	type gap struct {
		from, to float64 // seconds
		level    float32 // peak of the noise inside; 0 is digital silence
	}
	gaps := []gap{{27.3, 27.5, 0}, {54.0, 54.25, 0.001}, {80.02, 80.3, 0}}
	for _, g := range gaps {
		noise(rng, x[sec(g.from):sec(g.to)], g.level)
	}
	// A gap outside any search region must not attract a cut.
	clear(x[sec(10):sec(11)])

	chunks := chunkAll(t, x, 4000, ChunkOptions{}, sec(30))
	if len(chunks) != 4 {
		t.Fatalf("%d chunks, want 4", len(chunks))
	}
	for i, ch := range chunks[1:] {
		cut := ch.Offset
		g := gaps[i]
		if cut < int64(sec(g.from)) || cut+160 > int64(sec(g.to)) {
			t.Errorf("cut %d at %.3f s, outside the gap %.2f..%.2f s", i, float64(cut)/SampleRate, g.from, g.to)
		}
		if ch.Silent || chunks[i].Silent {
			t.Errorf("chunk next to cut %d flagged silent", i)
		}
	}
	// In digital silence every place whose 200 ms surroundings lie in the
	// gap ties, and the latest wins: 100 ms before the gap ends.
	if got, want := chunks[1].Offset, int64(sec(27.40)); got != want {
		t.Errorf("first cut at sample %d, want %d (the last place with only silence within 100 ms)", got, want)
	}
}

// With no quieter place, chunks are cut at exactly MaxSeconds.
func TestChunkerNoSilence(t *testing.T) {
	signals := map[string][]float32{
		"1 kHz tone": tone(1000, 0.5, 0.1, SampleRate, sec(95)),
		"constant":   make([]float32, sec(95)),
	}
	for i := range signals["constant"] {
		signals["constant"][i] = 0.3
	}
	for name, x := range signals {
		chunks := chunkAll(t, x, 0, ChunkOptions{MaxSeconds: 30}, sec(30))
		want := []int{sec(30), sec(30), sec(30), sec(5)}
		if len(chunks) != len(want) {
			t.Fatalf("%s: %d chunks, want %d", name, len(chunks), len(want))
		}
		for i, ch := range chunks {
			if len(ch.Samples) != want[i] || ch.Silent {
				t.Errorf("%s: chunk %d has %d samples (silent %v), want %d", name, i, len(ch.Samples), ch.Silent, want[i])
			}
		}
	}
}

func TestChunkerSilentFlag(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := make([]float32, sec(35))            // 0..10 s digital silence
	noise(rng, x[sec(10):sec(20)], 0.5)      // 10..20 s loud
	noise(rng, x[sec(20):], float32(5.5e-4)) // 20..35 s at about -70 dBFS
	chunks := chunkAll(t, x, 1000, ChunkOptions{MaxSeconds: 10, SearchSeconds: 2}, sec(10))
	if len(chunks) < 4 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for _, ch := range chunks {
		loud := ch.Offset < int64(sec(20)) && ch.Offset+int64(len(ch.Samples)) > int64(sec(10))
		if ch.Silent == loud {
			t.Errorf("chunk %d (%.2f..%.2f s): Silent = %v", ch.Index, float64(ch.Offset)/SampleRate,
				float64(ch.Offset+int64(len(ch.Samples)))/SampleRate, ch.Silent)
		}
	}
	// A threshold under the quiet noise makes it count as sound.
	chunks = chunkAll(t, x, 1000, ChunkOptions{MaxSeconds: 10, SearchSeconds: 2, SilenceDBFS: -80}, sec(10))
	if last := chunks[len(chunks)-1]; last.Silent {
		t.Error("-70 dBFS noise is silent under a -80 dBFS threshold")
	}
}

// Lengths around the window and odd read sizes keep the accounting exact.
func TestChunkerLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const window = 16000
	opts := ChunkOptions{MaxSeconds: 1, SearchSeconds: 0.25}
	for _, n := range []int{1, 159, 160, window - 1, window, window + 1, window + 160, 2 * window, 2*window + 7, 5*window + 3333} {
		for _, step := range []int{0, 1, 7, 4096} {
			if step == 1 && n > 3*window {
				continue
			}
			x := make([]float32, n)
			noise(rng, x, 0.5)
			chunks := chunkAll(t, x, step, opts, window)
			if n <= window && len(chunks) != 1 {
				t.Errorf("n=%d: %d chunks, want 1 (the stream fits the window)", n, len(chunks))
			}
			if n > window && len(chunks) < 2 {
				t.Errorf("n=%d: %d chunks", n, len(chunks))
			}
			for _, ch := range chunks[:len(chunks)-1] {
				if len(ch.Samples) < window-sec(0.25) {
					t.Errorf("n=%d: chunk %d of %d samples: the cut left the search region", n, ch.Index, len(ch.Samples))
				}
			}
		}
	}
}

func TestChunkerEmpty(t *testing.T) {
	c := NewChunker(&sliceStream{}, ChunkOptions{})
	for range 2 {
		if _, err := c.Next(); err != io.EOF {
			t.Fatalf("Next on an empty stream: %v", err)
		}
	}
}

func TestChunkerDefaults(t *testing.T) {
	c := NewChunker(&sliceStream{}, ChunkOptions{})
	if c.window != sec(30) || c.search != sec(10) || c.frame != 160 || math.Abs(c.silentMS-1e-6) > 1e-12 {
		t.Fatalf("defaults: window %d, search %d, frame %d, threshold %g", c.window, c.search, c.frame, c.silentMS)
	}
	c = NewChunker(&sliceStream{}, ChunkOptions{MaxSeconds: 2, SearchSeconds: 9, FrameMs: 20, SilenceDBFS: -40})
	if c.window != sec(2) || c.search != sec(2) || c.frame != 320 || math.Abs(c.silentMS-1e-4) > 1e-12 {
		t.Fatalf("window %d, search %d, frame %d, threshold %g", c.window, c.search, c.frame, c.silentMS)
	}
	c = NewChunker(&sliceStream{}, ChunkOptions{MaxSeconds: math.Inf(1), SearchSeconds: math.NaN(), SilenceDBFS: math.NaN()})
	if c.window != sec(30) || c.search != sec(10) || math.Abs(c.silentMS-1e-6) > 1e-12 {
		t.Fatalf("window %d, search %d, threshold %g", c.window, c.search, c.silentMS)
	}
}

type failingStream struct {
	n   int
	err error
}

func (f *failingStream) Read(p []float32) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func TestChunkerReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	c := NewChunker(&failingStream{n: sec(45), err: boom}, ChunkOptions{})
	if _, err := c.Next(); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	for range 2 {
		if _, err := c.Next(); !errors.Is(err, boom) {
			t.Fatalf("Next = %v, want the stream's error", err)
		}
	}
	stalled := NewChunker(&failingStream{n: 0, err: nil}, ChunkOptions{})
	if _, err := stalled.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("a stream that never makes progress: %v", err)
	}
}

// End to end: a decoded file chunks with offsets in 16 kHz samples.
func TestChunkDecodedFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rate = 44100
	x := make([]float32, 70*rate)
	noise(rng, x, 0.5)
	clear(x[28*rate : 28*rate+rate/5]) // 28.0..28.2 s
	d, err := NewWAVDecoder(onlyReader{bytes.NewReader(wavBytes(t, x, rate, 1, PCM16))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewChunker(d, ChunkOptions{})
	var offsets []int64
	var total int64
	for {
		ch, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, ch.Offset)
		total += int64(len(ch.Samples))
	}
	if total != 70*SampleRate || len(offsets) != 3 {
		t.Fatalf("%d samples in %d chunks", total, len(offsets))
	}
	// The cut lands in the gap, away from the filter's ring at its edges.
	if cut := float64(offsets[1]) / SampleRate; cut < 28.0 || cut > 28.2 {
		t.Fatalf("cut at %.3f s, want inside 28.0..28.2 s", cut)
	}
}
