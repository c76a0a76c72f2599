package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/pion/opus"
)

// Ogg Opus (RFC 7845) with pion/opus, which decodes straight to 16 kHz the
// way libopus does (the spectrum above 8 kHz is never synthesised), so no
// resampler runs. Times: granule positions count 48 kHz samples; the
// header's pre-skip is dropped from the start and the last page's granule
// trims the end.

const opusRate = 48000

// opusHead is the identification header.
type opusHead struct {
	channels int
	preSkip  int // 48 kHz samples
	gain     float32
	family   int
}

func parseOpusHead(p []byte) (opusHead, error) {
	var h opusHead
	if len(p) < 19 || string(p[:8]) != "OpusHead" {
		return h, fmt.Errorf("%w: the Ogg Opus identification header is missing", ErrCorrupt)
	}
	if p[8]>>4 != 0 {
		return h, fmt.Errorf("%w: Ogg Opus version %d", ErrUnsupportedFormat, p[8])
	}
	le := binary.LittleEndian
	h.channels = int(p[9])
	h.preSkip = int(le.Uint16(p[10:]))
	h.gain = float32(math.Pow(10, float64(int16(le.Uint16(p[16:])))/(20*256)))
	h.family = int(p[18])
	if h.channels == 0 {
		return h, fmt.Errorf("%w: Ogg Opus with zero channels", ErrCorrupt)
	}
	switch {
	case h.family == 0 && h.channels <= 2:
	case (h.family == 1 || h.family == 255) && h.channels <= 2 && len(p) >= 21+h.channels && p[19] == 1:
		// One stream with a trivial mapping: decodable like family 0.
	default:
		return h, &multiError{
			msg:  fmt.Sprintf("Opus with %d channels (mapping family %d) needs ffmpeg: %s", h.channels, h.family, installHint()),
			errs: []error{ErrUnsupportedFormat, ErrNeedsFFmpeg},
		}
	}
	return h, nil
}

// opusPacketSamples is the duration of a packet in 48 kHz samples, from
// its table of contents (RFC 6716 section 3.1), or 0 for a malformed one.
func opusPacketSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	config := int(p[0] >> 3)
	var per int // 48 kHz samples per frame
	switch {
	case config < 12:
		per = []int{480, 960, 1920, 2880}[config%4]
	case config < 16:
		per = []int{480, 960}[config%2]
	default:
		per = []int{120, 240, 480, 960}[config%4]
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = int(p[1] & 0x3F)
	}
	if total := per * frames; total <= 5760 {
		return total
	}
	return 0
}

type opusSource struct {
	ogg   *oggReader
	dec   opus.Decoder
	head  opusHead
	decCh int // channels the decoder delivers
	sel   int
	skip  int64 // 16 kHz samples still to drop at the start
	limit int64 // 16 kHz samples to deliver, or -1
	pcm   []float32
	cur   []float32 // decoded, mixed, not yet delivered
	read  int64
	trunc bool
	bad   int // packets replaced by silence
	done  bool
	err   error
}

func newOpusDecoder(f *os.File, kind fileKind, sel int) (*Decoder, error) {
	if _, err := f.Seek(kind.offset, io.SeekStart); err != nil {
		return nil, err
	}
	o := newOggReader(f)
	head, _, err := o.nextPacket()
	if err != nil {
		return nil, oggHeaderError(err)
	}
	h, err := parseOpusHead(head)
	if err != nil {
		return nil, err
	}
	if sel >= h.channels {
		return nil, fmt.Errorf("%w: channel %d of a %d-channel file", ErrInvalidOptions, sel, h.channels)
	}
	tags, _, err := o.nextPacket()
	if err != nil {
		return nil, oggHeaderError(err)
	}
	if len(tags) < 8 || string(tags[:8]) != "OpusTags" {
		return nil, fmt.Errorf("%w: the Ogg Opus comment header is missing", ErrCorrupt)
	}
	s := &opusSource{ogg: o, head: h, decCh: h.channels, sel: sel, limit: -1}
	if s.dec, err = opus.NewDecoderWithOutput(SampleRate, s.decCh); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedFormat, err)
	}
	s.skip = int64(math.Round(float64(h.preSkip) / 3))
	frames := int64(-1)
	if fi, err := f.Stat(); err == nil {
		if g := oggLastGranule(f, fi.Size(), o.serial); g >= int64(h.preSkip) {
			frames = g - int64(h.preSkip)
			s.limit = (frames*SampleRate + opusRate - 1) / opusRate
		}
	}
	info := Info{Format: "ogg/opus", SourceRate: opusRate, Channels: h.channels}
	return newSourceDecoder(s, info, frames, true), nil
}

func oggHeaderError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %w Ogg Opus header", ErrCorrupt, ErrTruncated)
	}
	return err
}

func (s *opusSource) status() sourceStatus {
	// frames are 48 kHz samples, as Info counts them.
	st := sourceStatus{frames: s.read * 3, truncated: s.trunc}
	switch {
	case s.trunc:
		st.warning = fmt.Errorf("audio: %w Ogg Opus file: the audio stops after %.2f s without the stream's end",
			ErrTruncated, float64(s.read)/SampleRate)
	case s.bad > 0 || s.ogg.damaged > 0:
		st.warning = fmt.Errorf("audio: %w: %d damaged Ogg pages and %d undecodable Opus packets were skipped (silence in their place)",
			ErrCorrupt, s.ogg.damaged, s.bad)
	}
	return st
}

func (s *opusSource) readMono(dst []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	for len(s.cur) == 0 {
		if s.done {
			return 0, io.EOF
		}
		if err := s.next(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n := copy(dst, s.cur)
	s.cur = s.cur[n:]
	s.read += int64(n)
	return n, nil
}

// next decodes one packet into cur.
func (s *opusSource) next() error {
	if s.limit >= 0 && s.read >= s.limit {
		s.done = true
		return nil
	}
	pkt, _, err := s.ogg.nextPacket()
	switch {
	case err == io.EOF:
		s.done = true
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.done, s.trunc = true, true
		return nil
	case err != nil:
		return err
	}
	if len(pkt) == 0 {
		return nil // an empty packet carries no audio (RFC 7845 allows none; be lenient)
	}
	const maxSamples = 5760 / 3 // 120 ms at 16 kHz
	if cap(s.pcm) < maxSamples*s.decCh {
		s.pcm = make([]float32, maxSamples*s.decCh)
	}
	pcm := s.pcm[:maxSamples*s.decCh]
	var n int
	err = guard("Opus", func() (err error) {
		n, err = s.dec.DecodeToFloat32(pkt, pcm)
		return err
	})
	if err != nil || n <= 0 || n > maxSamples {
		// Keep the timing: silence for as long as the packet lasts.
		s.bad++
		n = opusPacketSamples(pkt) / 3
		clear(pcm[:n*s.decCh])
	}
	mono := pcm[:n] // mixed in place: sample i reads from index >= i
	mixInterleaved(pcm[:n*s.decCh], mono, s.decCh, s.sel)
	if s.head.gain != 1 {
		for i := range mono {
			mono[i] = clampSample(mono[i] * s.head.gain)
		}
	}
	from := int(min(int64(len(mono)), s.skip))
	s.skip -= int64(from)
	mono = mono[from:]
	if s.limit >= 0 {
		mono = mono[:min(int64(len(mono)), s.limit-s.read)]
	}
	s.cur = mono
	return nil
}
