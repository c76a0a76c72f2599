package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

var errClosed = errors.New("audio: decoder is closed")

// Decoder streams a source file as 16 kHz mono float32 samples. It
// implements Stream. A Decoder is not safe for concurrent use.
//
// Memory is bounded: one block of source bytes (64 KiB), its samples, and
// the resampler's window, whatever the length of the file.
type Decoder struct {
	info   Info
	src    *wavSource
	rs     *resampler // nil when the source is already 16 kHz
	closer io.Closer  // the file Open opened; nil for NewWAVDecoder
	err    error      // the error that ended the stream, other than EOF
	done   bool       // io.EOF reached
	closed bool
}

// newDecoder parses the header from r and sets up the pipeline.
func newDecoder(r io.Reader, opts Options, fromOpen bool) (*Decoder, error) {
	sel, err := channelSelection(opts)
	if err != nil {
		return nil, err
	}
	remaining := int64(-1) // bytes from r's current position to its end
	if s, ok := r.(io.Seeker); ok {
		if cur, err := s.Seek(0, io.SeekCurrent); err == nil {
			if end, err := s.Seek(0, io.SeekEnd); err == nil {
				if _, err := s.Seek(cur, io.SeekStart); err != nil {
					return nil, err
				}
				remaining = end - cur
			}
		}
	}
	cr := &countingReader{br: bufio.NewReaderSize(r, readBlockBytes)}
	h, err := parseWAVHeader(cr, fromOpen)
	if err != nil {
		return nil, err
	}
	f := h.format
	if sel >= f.channels {
		return nil, fmt.Errorf("%w: channel %d of a %d-channel file", ErrInvalidOptions, sel, f.channels)
	}

	d := &Decoder{
		info: Info{
			Format:        f.name(),
			SourceRate:    f.rate,
			Channels:      f.channels,
			BitsPerSample: f.validBits,
			Frames:        -1,
			Samples:       -1,
		},
	}
	frames := int64(-1)
	if h.dataSize >= 0 {
		frames = h.dataSize / int64(f.blockAlign)
	}
	if remaining >= 0 {
		avail := max(0, remaining-h.dataOffset) / int64(f.blockAlign)
		if frames < 0 || avail < frames {
			d.info.Truncated = frames >= 0
			frames = avail
		}
	}
	d.src = newWAVSource(cr, h, sel)
	if f.rate != SampleRate {
		d.rs = newResampler(f.rate, d.src.readMono)
	}
	if frames >= 0 {
		d.setFrames(frames)
	}
	return d, nil
}

// setFrames records the number of source frames and what follows from it.
func (d *Decoder) setFrames(frames int64) {
	d.info.Frames = frames
	d.info.Duration = float64(frames) / float64(d.info.SourceRate)
	d.info.Samples = frames
	if d.rs != nil {
		d.info.Samples = d.rs.bank.outputLen(frames)
	}
}

func channelSelection(opts Options) (int, error) {
	switch opts.Mix {
	case MixAverage:
		if opts.Channel != 0 && opts.Channel != -1 {
			return 0, fmt.Errorf("%w: Channel is %d but Mix is MixAverage (set Mix to MixChannel to keep one channel)", ErrInvalidOptions, opts.Channel)
		}
		return -1, nil
	case MixChannel:
		if opts.Channel < 0 {
			return 0, fmt.Errorf("%w: channel %d", ErrInvalidOptions, opts.Channel)
		}
		return opts.Channel, nil
	}
	return 0, fmt.Errorf("%w: mix mode %d", ErrInvalidOptions, opts.Mix)
}

// Read fills p with 16 kHz mono samples in [-1, 1] and returns how many it
// wrote. At the end it returns 0, io.EOF; it never returns n > 0 with an
// error. After the end, Truncated and Info report whether the data chunk
// was cut short, and Err reports a read error that ended the stream early.
//
// The stream has exactly Info().Samples samples when that is known:
// ceil(frames*16000/SourceRate), sample n being the source's value at
// time n/16000 s. A 16 kHz source passes through unfiltered.
func (d *Decoder) Read(p []float32) (int, error) {
	switch {
	case d.closed:
		return 0, errClosed
	case d.err != nil:
		return 0, d.err
	case d.done:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	var n int
	var err error
	if d.rs != nil {
		n, err = d.rs.read(p)
	} else {
		for n == 0 && err == nil {
			n, err = d.src.readMono(p)
		}
	}
	if d.src.trunc && !d.info.Truncated {
		// Found at the end: correct the counts to what was there.
		d.info.Truncated = true
		d.setFrames(d.src.read / int64(d.src.format.blockAlign))
	}
	if err != nil {
		if err == io.EOF {
			d.done = true
		} else {
			d.err = fmt.Errorf("audio: reading samples: %w", err)
		}
		if n > 0 {
			return n, nil
		}
		if d.err != nil {
			return 0, d.err
		}
		return 0, io.EOF
	}
	return n, nil
}

// Info describes the source. Truncated may change from false to true when
// the decoder reaches the end of a short data chunk.
func (d *Decoder) Info() Info { return d.info }

// Truncated reports whether the data chunk turned out shorter than its
// header says. Samples up to the cut were delivered.
func (d *Decoder) Truncated() bool { return d.info.Truncated || d.src.trunc }

// Warning returns a non-fatal problem worth telling the user about: an
// error wrapping ErrTruncated when the data chunk was cut short, else nil.
func (d *Decoder) Warning() error {
	if !d.Truncated() {
		return nil
	}
	want := d.src.declared / int64(d.src.format.blockAlign)
	return fmt.Errorf("audio: %w file: the header declares %d frames (%.2f s) but only %d (%.2f s) are present",
		ErrTruncated, want, float64(want)/float64(d.info.SourceRate), d.info.Frames, d.info.Duration)
}

// Err returns the error that ended the stream early, or nil when the
// stream has not ended or ended normally (including a truncated file).
func (d *Decoder) Err() error { return d.err }

// Close releases the file opened by Open. It is safe to call more than
// once; Read fails after Close.
func (d *Decoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.closer != nil {
		return d.closer.Close()
	}
	return nil
}
