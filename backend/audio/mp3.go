package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hajimehoshi/go-mp3"
)

// mp3DecoderDelay is the delay of the MP3 synthesis filterbank, in
// samples: every MP3 decoder's output lags the encoder's input by it plus
// the encoder's own delay (the LAME tag's delay field).
const mp3DecoderDelay = 529

// mp3Source decodes MP3 with go-mp3, which always delivers 16-bit stereo
// and decodes the silent tag frame and the delays as audio; the source
// drops those so that sample n is the encoder's input sample n.
type mp3Source struct {
	dec      *mp3.Decoder
	channels int
	sel      int
	raw      []byte
	skip     int64 // frames still to drop at the start
	limit    int64 // frames to deliver, or -1 for all
	read     int64 // frames delivered
	trunc    bool
	done     bool
	err      error
}

func newMP3Decoder(f *os.File, kind fileKind, sel int) (*Decoder, error) {
	head := make([]byte, 1<<16)
	if _, err := f.Seek(kind.offset, io.SeekStart); err != nil {
		return nil, err
	}
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	head = head[:n]
	start := -1
	for i := 0; i+4 <= len(head); i++ {
		if head[i] == 0xFF {
			if layer, ok := mpegAudioAt(head, i); ok && layer == "MP3" {
				start = i
				break
			}
		}
	}
	if start < 0 {
		if n == 0 {
			return nil, fmt.Errorf("%w: the MP3 file holds tags but no audio", ErrCorrupt)
		}
		return nil, fmt.Errorf("%w: no MP3 audio frames found", ErrCorrupt)
	}
	h, _ := parseMPEGHeader(head[start:])
	if h.version != 1 {
		// go-mp3 decodes the half- and quarter-rate extensions wrongly.
		name := "MPEG-2"
		if h.version == 25 {
			name = "MPEG-2.5"
		}
		return nil, &multiError{
			msg:  fmt.Sprintf("MP3 at %d Hz (%s) needs ffmpeg: %s", h.rate, name, installHint()),
			errs: []error{ErrUnsupportedFormat, ErrNeedsFFmpeg},
		}
	}
	if sel >= h.channels {
		return nil, fmt.Errorf("%w: channel %d of a %d-channel file", ErrInvalidOptions, sel, h.channels)
	}
	tag := parseMP3Tag(head[start:])
	if _, err := f.Seek(kind.offset+int64(start), io.SeekStart); err != nil {
		return nil, err
	}
	s := &mp3Source{channels: h.channels, sel: sel, limit: -1}
	// A plain reader: given a Seeker, go-mp3 would scan the whole file
	// first to index its frames.
	var dec *mp3.Decoder
	err = guard("MP3", func() (err error) {
		dec, err = mp3.NewDecoder(plainReader{bufio.NewReaderSize(f, 1<<16)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: cannot decode the MP3 audio: %v", ErrCorrupt, err)
	}
	s.dec = dec

	spf := int64(h.samples)
	s.skip = mp3DecoderDelay
	if tag.present {
		s.skip += spf // go-mp3 decodes the tag frame as silence
	}
	info := Info{Format: "mp3", SourceRate: h.rate, Channels: h.channels}
	frames := int64(-1)
	switch {
	case tag.frames >= 0 && tag.delay >= 0:
		s.skip += int64(tag.delay)
		frames = max(0, tag.frames*spf-int64(tag.delay)-int64(tag.padding))
	case tag.frames >= 0:
		frames = max(0, tag.frames*spf-mp3DecoderDelay)
	default:
		// No count: estimate the length from the size at the first
		// frame's bitrate (exact for constant bitrate files).
		if fi, err := f.Stat(); err == nil && h.bitrate > 0 {
			info.Duration = float64(fi.Size()-kind.offset-int64(start)) * 8 / float64(h.bitrate)
		}
	}
	s.limit = frames
	return newSourceDecoder(s, info, frames, false), nil
}

// plainReader hides every method but Read.
type plainReader struct{ r io.Reader }

func (o plainReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func (s *mp3Source) status() sourceStatus {
	st := sourceStatus{frames: s.read, truncated: s.trunc}
	if s.trunc {
		st.warning = fmt.Errorf("audio: %w MP3 file: its header announces %d samples (%.2f s) but only %d are present",
			ErrTruncated, s.limit, float64(s.limit)/float64(s.dec.SampleRate()), s.read)
	}
	return st
}

func (s *mp3Source) readMono(dst []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	for {
		if s.done || s.limit >= 0 && s.read >= s.limit {
			s.done = true
			return 0, io.EOF
		}
		k := len(dst)
		if s.limit >= 0 {
			k = int(min(int64(k), s.limit-s.read+s.skip))
		}
		k = min(k, 1<<13)
		if cap(s.raw) < 4*k {
			s.raw = make([]byte, 4*k)
		}
		raw := s.raw[:4*k]
		var n int
		err := guard("MP3", func() (err error) {
			n, err = io.ReadFull(s.dec, raw)
			return err
		})
		frames := n / 4
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			s.done = true
			if s.limit >= 0 && s.read+max(0, int64(frames)-s.skip) < s.limit {
				s.trunc = true
			}
		case err != nil:
			s.err = fmt.Errorf("%w: MP3 data damaged after %.2f s: %v", ErrCorrupt, float64(s.read)/float64(s.dec.SampleRate()), err)
			if errors.Is(err, ErrCorrupt) {
				s.err = err
			}
		}
		from := int(min(int64(frames), s.skip))
		s.skip -= int64(from)
		out := dst[:frames-from]
		if s.limit >= 0 {
			out = out[:min(int64(len(out)), s.limit-s.read)]
		}
		s.decode(raw[4*from:], out)
		s.read += int64(len(out))
		if len(out) > 0 || s.err != nil {
			return len(out), s.err
		}
	}
}

// decode turns interleaved 16-bit stereo into mono samples.
func (s *mp3Source) decode(raw []byte, dst []float32) {
	const scale = 1.0 / 32768
	for i := range dst {
		l := float32(int16(uint16(raw[4*i])|uint16(raw[4*i+1])<<8)) * scale
		r := float32(int16(uint16(raw[4*i+2])|uint16(raw[4*i+3])<<8)) * scale
		switch {
		case s.channels == 1 || s.sel == 0:
			dst[i] = l
		case s.sel == 1:
			dst[i] = r
		default:
			dst[i] = (l + r) * 0.5
		}
	}
}
