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
	// may move to find a quiet place (default 10; at most MaxSeconds). It
	// should exceed the longest stretch of speech without a pause, so the
	// region always holds one.
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
	DefaultSearchSeconds = 10
	DefaultFrameMs       = 10
	DefaultSilenceDBFS   = -60
	maxChunkSeconds      = 600
)

// smoothMs is half the span over which frame energies are averaged to
// score a cut: a place counts as quiet only when the 200 ms around it
// are, so the cut falls in a pause between phrases rather than in the
// closure of a "p" or "t" inside a word.
const smoothMs = 100

// Two scores this close count as a tie (the later frame wins):
// within 0.1 dB of each other, or both under -120 dBFS. Float rounding
// then cannot move the cut of a steady signal away from the window end.
const (
	tieRatio = 1.0233 // 0.1 dB
	tieFloor = 1e-12  // -120 dBFS
)

const chunkReadBlock = 4096

// Chunker cuts a Stream into chunks of at most MaxSeconds.
//
// While more than a window of samples remains, each chunk ends at the
// start of one of the frames laid back from the window's end across the
// last SearchSeconds: the one whose surroundings are quietest. A place's
// score is the mean energy (mean square) of the frames within 100 ms on
// either side of it; the lowest score wins, and the latest among ties
// (scores within 0.1 dB of each other, or both under -120 dBFS). The
// place exactly at the window's end (scored on samples read ahead) is a
// candidate too, so a signal with no quieter place is cut at exactly
// MaxSeconds. Whatever follows the cut starts the next chunk; the last
// chunk holds what remains, so a stream of at most MaxSeconds is one
// chunk.
//
// The Chunker holds one window plus one read block of samples.
type Chunker struct {
	s        Stream
	window   int     // max chunk length, samples
	search   int     // search span, samples
	frame    int     // frame length, samples
	smooth   int     // frames averaged on each side of a cut
	silentMS float64 // silence threshold as a mean square
	ahead    int     // samples to read beyond the window before cutting

	buf    []float32
	energy []float64 // frame energies, scratch for cut
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
	c.smooth = max(1, int(math.Round(float64(smoothMs)/float64(frameMs))))
	c.silentMS = math.Pow(10, db/10)
	c.ahead = c.frame * c.smooth
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
	// Candidates are w - k*f for k = 0..last; the frames scored around
	// them start at w + j*f for j from -(last+smooth) to smooth-1.
	last := min(c.search, w-1) / f
	lo := -(last + c.smooth)
	c.energy = c.energy[:0]
	for j := lo; j < c.smooth; j++ {
		start := w + j*f
		if start < 0 || start >= len(c.buf) {
			c.energy = append(c.energy, math.NaN()) // outside the buffer
			continue
		}
		c.energy = append(c.energy, meanSquare(c.buf[start:min(start+f, len(c.buf))]))
	}
	score := func(k int) float64 {
		var sum float64
		var n int
		for j := -k - c.smooth; j < -k+c.smooth; j++ {
			if e := c.energy[j-lo]; !math.IsNaN(e) {
				sum += e
				n++
			}
		}
		return sum / float64(max(n, 1))
	}
	lowest := math.Inf(1)
	for k := 0; k <= last; k++ {
		lowest = min(lowest, score(k))
	}
	limit := lowest*tieRatio + tieFloor
	for k := 0; k <= last; k++ {
		if score(k) <= limit {
			return w - k*f
		}
	}
	return w
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
