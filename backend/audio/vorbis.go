package audio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jfreymuth/oggvorbis"
)

// vorbisSource decodes Ogg Vorbis with jfreymuth/oggvorbis, which trims
// the stream to its granule positions itself.
type vorbisSource struct {
	r        *oggvorbis.Reader
	rate     int
	channels int
	sel      int
	total    int64 // frames the last page announces, or -1
	inter    []float32
	read     int64
	trunc    bool
	done     bool
	err      error
}

func newVorbisDecoder(f *os.File, kind fileKind, sel int) (*Decoder, error) {
	if _, err := f.Seek(kind.offset, io.SeekStart); err != nil {
		return nil, err
	}
	var r *oggvorbis.Reader
	err := guard("Vorbis", func() (err error) {
		r, err = oggvorbis.NewReader(newBufSeeker(f, kind.offset))
		return err
	})
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %w Ogg Vorbis header", ErrCorrupt, ErrTruncated)
		}
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: Ogg Vorbis header: %v", ErrCorrupt, err)
	}
	rate, ch := r.SampleRate(), r.Channels()
	switch {
	case rate < minSourceRate || rate > maxSourceRate:
		return nil, fmt.Errorf("%w: Vorbis sample rate of %d Hz", ErrCorrupt, rate)
	case ch < 1 || ch > maxChannels:
		return nil, fmt.Errorf("%w: Vorbis with %d channels", ErrCorrupt, ch)
	case sel >= ch:
		return nil, fmt.Errorf("%w: channel %d of a %d-channel file", ErrInvalidOptions, sel, ch)
	}
	s := &vorbisSource{r: r, rate: rate, channels: ch, sel: sel, total: -1}
	if n := r.Length(); n > 0 {
		s.total = n
	}
	info := Info{Format: "ogg/vorbis", SourceRate: rate, Channels: ch}
	return newSourceDecoder(s, info, s.total, false), nil
}

func (s *vorbisSource) status() sourceStatus {
	st := sourceStatus{frames: s.read, truncated: s.trunc}
	if s.trunc {
		st.warning = fmt.Errorf("audio: %w Ogg Vorbis file: the audio stops after %.2f s without the stream's end",
			ErrTruncated, float64(s.read)/float64(s.rate))
	}
	return st
}

func (s *vorbisSource) readMono(dst []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.done {
		return 0, io.EOF
	}
	k := min(len(dst), 1<<13)
	if cap(s.inter) < k*s.channels {
		s.inter = make([]float32, k*s.channels)
	}
	inter := s.inter[:k*s.channels]
	var n int
	err := guard("Vorbis", func() (err error) {
		n, err = s.r.Read(inter)
		return err
	})
	frames := n / s.channels
	mixInterleaved(inter[:frames*s.channels], dst[:frames], s.channels, s.sel)
	s.read += int64(frames)
	switch {
	case err == io.EOF:
		s.done = true
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.done, s.trunc = true, true
	case err != nil:
		s.err = fmt.Errorf("%w: Vorbis data damaged after %.2f s: %v", ErrCorrupt, float64(s.read)/float64(s.rate), err)
		if errors.Is(err, ErrCorrupt) {
			s.err = err
		}
		return frames, s.err
	}
	if frames == 0 && s.done {
		return 0, io.EOF
	}
	return frames, nil
}

// mixInterleaved mixes interleaved frames to mono: channel sel, or the
// average of all when sel is -1.
func mixInterleaved(inter, dst []float32, ch, sel int) {
	switch {
	case sel >= 0:
		for i := range dst {
			dst[i] = clampSample(inter[i*ch+sel])
		}
	case ch == 1:
		for i := range dst {
			dst[i] = clampSample(inter[i])
		}
	case ch == 2:
		for i := range dst {
			dst[i] = clampSample((inter[2*i] + inter[2*i+1]) * 0.5)
		}
	default:
		scale := 1 / float32(ch)
		for i := range dst {
			var sum float32
			for _, v := range inter[i*ch : i*ch+ch] {
				sum += v
			}
			dst[i] = clampSample(sum * scale)
		}
	}
}

// bufSeeker buffers reads from a file and still seeks, for decoders that
// read a few bytes at a time and also seek. Offsets are relative to base.
type bufSeeker struct {
	f    *os.File
	base int64
	br   *bufio.Reader
	pos  int64 // offset of the next byte Read returns, from base
}

func newBufSeeker(f *os.File, base int64) *bufSeeker {
	return &bufSeeker{f: f, base: base, br: bufio.NewReaderSize(f, 1<<16)}
}

func (b *bufSeeker) Read(p []byte) (int, error) {
	n, err := b.br.Read(p)
	b.pos += int64(n)
	return n, err
}

func (b *bufSeeker) Seek(off int64, whence int) (int64, error) {
	var target int64
	switch whence {
	case io.SeekStart:
		target = off
	case io.SeekCurrent:
		target = b.pos + off
	case io.SeekEnd:
		fi, err := b.f.Stat() // not Seek: the buffer must stay in step with the file
		if err != nil {
			return 0, err
		}
		target = fi.Size() - b.base + off
	default:
		return 0, errors.New("bufSeeker: bad whence")
	}
	if target < 0 {
		return 0, errors.New("bufSeeker: negative position")
	}
	// A short hop forward within the buffer needs no system call.
	if d := target - b.pos; d >= 0 && d <= int64(b.br.Buffered()) {
		b.br.Discard(int(d))
		b.pos = target
		return target, nil
	}
	if _, err := b.f.Seek(b.base+target, io.SeekStart); err != nil {
		return 0, err
	}
	b.br.Reset(b.f)
	b.pos = target
	return target, nil
}
