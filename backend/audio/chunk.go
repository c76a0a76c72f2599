package audio

import (
	"io"
	"math"
)

// Chunk is one piece of a 16 kHz stream, sent to the model on its own.
type Chunk struct {
	// Index counts chunks from 0.
	Index int
	// Offset is the index of Samples[0] in the whole 16 kHz stream; divide
	// by SampleRate for seconds. Chunk k+1 starts where chunk k ends.
	Offset int64
	// Samples belong to the caller; the Chunker keeps no reference.
	Samples []float32
	// Silent is true when every frame of the chunk is quieter than
	// ChunkOptions.SilenceDBFS; such a chunk need not be transcribed.
	Silent bool
}

// ChunkOptions tune a Chunker. Zero values take the defaults.
type ChunkOptions struct {
	// MaxSeconds is the longest chunk (default 30; at most 600).
	MaxSeconds float64
	// SearchSeconds is how far back from the end of a full window the cut
	// may move to find a quiet place (default 5; at most MaxSeconds).
	SearchSeconds float64
	// FrameMs is the length of the frames whose energy is compared
	// (default 10).
	FrameMs int
	// SilenceDBFS is the level under which a frame counts as silent
	// (default -60). A frame's level is 10*log10 of its mean square, so a
	// full-scale square wave is 0 dBFS and a full-scale sine -3 dBFS.
	SilenceDBFS float64
}

// Defaults and limits of ChunkOptions.
const (
	DefaultMaxSeconds    = 30
	DefaultSearchSeconds = 5
	DefaultFrameMs       = 10
	DefaultSilenceDBFS   = -60
	maxChunkSeconds      = 600
)

// Two frame energies this close count as a tie (the later frame wins):
// within 0.1 dB of each other, or both under -120 dBFS. Float rounding
// then cannot move the cut of a steady signal away from the window end.
const (
	tieRatio = 1.0233 // 0.1 dB
	tieFloor = 1e-12  // -120 dBFS
)

const chunkReadBlock = 4096

// Chunker cuts a Stream into chunks of at most MaxSeconds.
//
// While more than a window of samples remains, each chunk ends where a
// frame of the last SearchSeconds starts, the quietest such frame (lowest
// mean square; the latest among ties, where energies within 0.1 dB of each
// other or both under -120 dBFS tie). Frames are laid back from the
// window's end, and the frame that starts exactly at the window's end
// (read ahead) is a candidate too, so a signal with no quieter place is
// cut at exactly MaxSeconds. Whatever follows the cut starts the next
// chunk; the last chunk holds what remains, so a stream of at most
// MaxSeconds is one chunk.
//
// The Chunker holds one window plus one read block of samples.
type Chunker struct {
	s        Stream
	window   int     // max chunk length, samples
	search   int     // search span, samples
	frame    int     // frame length, samples
	silentMS float64 // silence threshold as a mean square
	ahead    int     // samples to read beyond the window before cutting

	buf    []float32
	offset int64
	index  int
	eof    bool
	err    error
}

// NewChunker returns a Chunker reading s.
func NewChunker(s Stream, opts ChunkOptions) *Chunker {
	maxSec := opts.MaxSeconds
	if !(maxSec > 0) || math.IsInf(maxSec, 0) {
		maxSec = DefaultMaxSeconds
	}
	maxSec = min(maxSec, maxChunkSeconds)
	searchSec := opts.SearchSeconds
	if !(searchSec > 0) || math.IsInf(searchSec, 0) {
		searchSec = DefaultSearchSeconds
	}
	frameMs := opts.FrameMs
	if frameMs <= 0 {
		frameMs = DefaultFrameMs
	}
	db := opts.SilenceDBFS
	if db == 0 || math.IsNaN(db) {
		db = DefaultSilenceDBFS
	}

	c := &Chunker{s: s}
	c.window = max(1, int(math.Round(maxSec*SampleRate)))
	c.search = min(c.window, max(0, int(math.Round(searchSec*SampleRate))))
	c.frame = min(c.window, max(1, frameMs*SampleRate/1000))
	c.silentMS = math.Pow(10, db/10)
	c.ahead = c.frame
	c.buf = make([]float32, 0, c.window+max(c.frame, chunkReadBlock))
	return c
}

// Next returns the next chunk, or io.EOF after the last one. An empty
// stream gives io.EOF at once. A read error from the stream is returned
// as is and ends the chunking.
func (c *Chunker) Next() (Chunk, error) {
	if c.err != nil {
		return Chunk{}, c.err
	}
	if err := c.fill(); err != nil {
		c.err = err
		return Chunk{}, err
	}
	if len(c.buf) == 0 {
		return Chunk{}, io.EOF
	}
	cut := len(c.buf)
	if cut > c.window {
		cut = c.cut()
	}
	ch := Chunk{
		Index:   c.index,
		Offset:  c.offset,
		Samples: append([]float32(nil), c.buf[:cut]...),
	}
	ch.Silent = c.silent(ch.Samples)
	c.buf = c.buf[:copy(c.buf, c.buf[cut:])]
	c.offset += int64(cut)
	c.index++
	return ch, nil
}

// fill reads until the buffer holds a window plus the look-ahead frame, or
// the stream ends.
func (c *Chunker) fill() error {
	stalls := 0
	for !c.eof && len(c.buf) < c.window+c.ahead {
		n, err := c.s.Read(c.buf[len(c.buf):cap(c.buf)])
		if n < 0 || n > cap(c.buf)-len(c.buf) {
			return io.ErrShortBuffer // a broken Stream; never index past it
		}
		c.buf = c.buf[:len(c.buf)+n]
		switch {
		case err == io.EOF:
			c.eof = true
		case err != nil:
			return err
		case n == 0:
			if stalls++; stalls >= 100 {
				return io.ErrNoProgress
			}
		default:
			stalls = 0
		}
	}
	return nil
}

// cut picks where the current window ends; the buffer holds more than a
// window.
func (c *Chunker) cut() int {
	w, f := c.window, c.frame
	lowest := math.Inf(1)
	for start := w; start >= w-c.search && start > 0; start -= f {
		lowest = min(lowest, c.energy(start))
	}
	limit := lowest*tieRatio + tieFloor
	for start := w; start >= w-c.search && start > 0; start -= f {
		if c.energy(start) <= limit {
			return start
		}
	}
	return w
}

// energy is the mean square of the frame starting at start (shorter if
// the buffer ends sooner).
func (c *Chunker) energy(start int) float64 {
	fr := c.buf[start:min(start+c.frame, len(c.buf))]
	return meanSquare(fr)
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

// silent reports whether every frame of x, laid from its start, is below
// the silence threshold.
func (c *Chunker) silent(x []float32) bool {
	for i := 0; i < len(x); i += c.frame {
		if meanSquare(x[i:min(i+c.frame, len(x))]) >= c.silentMS {
			return false
		}
	}
	return true
}
