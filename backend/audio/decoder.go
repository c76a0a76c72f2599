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
// Memory is bounded: one block of source data, its samples, and the
// resampler's window, whatever the length of the file.
type Decoder struct {
	info   Info
	src    source
	rs     *resampler // nil when src already delivers 16 kHz
	closer io.Closer  // what Open opened; nil for NewWAVDecoder
	err    error      // the error that ended the stream, other than EOF
	done   bool       // io.EOF reached
	closed bool
}

// source delivers mono samples at the source rate (16 kHz for ffmpeg).
type source interface {
	// readMono fills dst with up to len(dst) samples. It returns io.EOF
	// at the end, and may return n > 0 together with an error.
	readMono(dst []float32) (int, error)
	// status says what the source knows so far.
	status() sourceStatus
}

// infoFinisher is a source that delivers 16 kHz itself (ffmpeg's) and
// says what Info becomes at the end.
type infoFinisher interface{ finishInfo(*Info) }

// sourceStatus is a source's account of itself.
type sourceStatus struct {
	// frames counts the frames delivered so far.
	frames int64
	// truncated: the file turned out shorter than its header says.
	truncated bool
	// warning is a non-fatal problem to report (a truncation, damage
	// that was skipped), or nil.
	warning error
}

// newSourceDecoder wraps a built-in source delivering info.SourceRate Hz
// (16 kHz when direct, whatever the source's rate). frames is the number
// of source frames the container announces, or -1.
func newSourceDecoder(src source, info Info, frames int64, direct bool) *Decoder {
	d := &Decoder{info: info, src: src}
	d.info.Decoder = "builtin"
	d.info.Frames, d.info.Samples = -1, -1
	if info.SourceRate != SampleRate && !direct {
		ps := newPipedSource(src)
		d.src = ps
		d.rs = newResampler(info.SourceRate, ps.readMono)
	}
	if frames >= 0 {
		d.setFrames(frames)
	}
	return d
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

	info := Info{
		Format:        f.name(),
		SourceRate:    f.rate,
		Channels:      f.channels,
		BitsPerSample: f.validBits,
	}
	frames := int64(-1)
	if h.dataSize >= 0 {
		frames = h.dataSize / int64(f.blockAlign)
	}
	if remaining >= 0 {
		avail := max(0, remaining-h.dataOffset) / int64(f.blockAlign)
		if frames < 0 || avail < frames {
			info.Truncated = frames >= 0
			frames = avail
		}
	}
	return newSourceDecoder(newWAVSource(cr, h, sel), info, frames, false), nil
}

// setFrames records the number of source frames and what follows from it.
func (d *Decoder) setFrames(frames int64) {
	d.info.Frames = frames
	d.info.Duration = float64(frames) / float64(d.info.SourceRate)
	rate := int64(d.info.SourceRate)
	d.info.Samples = (frames*SampleRate + rate - 1) / rate
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
	if st := d.src.status(); st.truncated && !d.info.Truncated {
		// Found at the end: correct the counts to what was there.
		d.info.Truncated = true
		if _, ok := d.src.(infoFinisher); !ok {
			d.setFrames(st.frames)
		}
	}
	if err != nil {
		if err == io.EOF {
			d.done = true
			d.atEnd()
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

// atEnd makes Info describe what was delivered once the stream is over.
func (d *Decoder) atEnd() {
	if fs, ok := d.src.(infoFinisher); ok {
		fs.finishInfo(&d.info)
		return
	}
	if st := d.src.status(); st.frames != d.info.Frames {
		d.setFrames(st.frames)
	}
}

// Truncated reports whether the file turned out shorter than its header
// says. Samples up to the cut were delivered.
func (d *Decoder) Truncated() bool { return d.info.Truncated || d.src.status().truncated }

// Warning returns a non-fatal problem worth telling the user about: an
// error wrapping ErrTruncated when the file was cut short (with the
// lengths it declares and holds), or one wrapping ErrCorrupt when damage
// was skipped; else nil.
func (d *Decoder) Warning() error {
	if w := d.src.status().warning; w != nil {
		return w
	}
	if d.info.Truncated {
		return fmt.Errorf("audio: %w file: only %.2f s of audio are present", ErrTruncated, d.info.Duration)
	}
	return nil
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
	var err error
	if c, ok := d.src.(io.Closer); ok {
		err = c.Close()
	}
	if d.closer != nil {
		err = errors.Join(err, d.closer.Close())
	}
	return err
}
