package audio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Limits beyond which a header value is treated as corrupt rather than
// merely unusual.
const (
	minSourceRate  = 1000
	maxSourceRate  = 768000
	maxChannels    = 256
	maxFmtSize     = 1 << 16 // a fmt chunk is 16..40 bytes in practice
	maxChunksSkip  = 1 << 16 // chunks before the data chunk
	readBlockBytes = 1 << 16 // bytes of source data decoded per step
)

// WAV format tags (the first field of the fmt chunk).
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagExtensible = 0xFFFE
)

// The tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs whose first two
// bytes are a plain format tag (00000001-0000-0010-8000-00aa00389b71 is
// PCM, ...0003-... is IEEE float), as stored in the file.
var ksSubtypeTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// tagName names the common WAV codecs we do not decode, for error messages.
func tagName(tag uint16) string {
	switch tag {
	case 0x0002:
		return "Microsoft ADPCM"
	case 0x0006:
		return "A-law"
	case 0x0007:
		return "µ-law"
	case 0x0011:
		return "IMA ADPCM"
	case 0x0031:
		return "GSM 6.10"
	case 0x0050:
		return "MPEG audio"
	case 0x0055:
		return "MP3"
	case 0x0092:
		return "Dolby AC-3 (S/PDIF)"
	case 0x00FF, 0x1610, 0x1600:
		return "AAC"
	case 0x0160, 0x0161, 0x0162, 0x0163:
		return "Windows Media Audio"
	case 0x2000:
		return "AC-3"
	case 0xF1AC:
		return "FLAC"
	}
	return "unknown codec"
}

// wavFormat is a validated fmt chunk.
type wavFormat struct {
	float      bool // IEEE float, else integer PCM
	channels   int
	rate       int
	blockAlign int // bytes per frame
	container  int // bytes per sample: 1..4 for PCM, 4 or 8 for float
	validBits  int // significant bits, for Info
}

func (f wavFormat) name() string {
	if f.float {
		return fmt.Sprintf("wav/float%d", f.container*8)
	}
	return fmt.Sprintf("wav/pcm%d", f.container*8)
}

// wavHeader is what parseWAVHeader learns before the first sample.
type wavHeader struct {
	format wavFormat
	// dataSize is the data chunk's size in bytes, or -1 when the header
	// holds a streaming placeholder and the data runs to the end.
	dataSize int64
	// dataOffset counts the bytes consumed up to the first data byte.
	dataOffset int64
}

// countingReader counts the bytes read through it from a bufio.Reader.
type countingReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingReader) readFull(p []byte) (int, error) {
	n, err := io.ReadFull(c.br, p)
	c.n += int64(n)
	return n, err
}

// more reports whether anything follows what was read.
func (c *countingReader) more() bool {
	_, err := c.br.Peek(1)
	return err == nil
}

func (c *countingReader) discard(n int64) (int64, error) {
	var done int64
	for done < n {
		step := n - done
		if step > 1<<30 {
			step = 1 << 30
		}
		k, err := c.br.Discard(int(step))
		done += int64(k)
		c.n += int64(k)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// notWAV builds the error for content that is not RIFF/WAVE. From Open it
// is an unsupported format (wrapping ErrNotWAV too); from NewWAVDecoder it
// is ErrNotWAV.
func notWAV(head []byte, fromOpen bool) error {
	name := sniff(head)
	if fromOpen {
		msg := ErrUnsupportedFormat.Error() + " (unrecognised content)"
		if name != "" {
			msg = ErrUnsupportedFormat.Error() + ": " + name
		}
		return &multiError{msg: msg, errs: []error{ErrUnsupportedFormat, ErrNotWAV}}
	}
	if name == "" {
		return fmt.Errorf("%w (unrecognised header)", ErrNotWAV)
	}
	return fmt.Errorf("%w (the content looks like %s)", ErrNotWAV, name)
}

// multiError is an error with its own message that wraps several others.
type multiError struct {
	msg  string
	errs []error
}

func (e *multiError) Error() string   { return e.msg }
func (e *multiError) Unwrap() []error { return e.errs }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func truncatedHeader(where string) error {
	return fmt.Errorf("%w: %w header (%s)", ErrCorrupt, ErrTruncated, where)
}

// parseWAVHeader reads from the start of a RIFF/RF64 file up to the first
// byte of the data chunk, skipping every chunk it does not need.
func parseWAVHeader(cr *countingReader, fromOpen bool) (wavHeader, error) {
	var h wavHeader
	var head [12]byte
	n, err := cr.readFull(head[:])
	switch {
	case n == 0 && err == io.EOF:
		return h, ErrEmpty
	case err == io.ErrUnexpectedEOF:
		if s := string(head[:min(n, 4)]); n >= 4 && (s == "RIFF" || s == "RF64" || s == "BW64") {
			return h, truncatedHeader(fmt.Sprintf("the file is only %d bytes", n))
		}
		return h, notWAV(head[:n], fromOpen)
	case err != nil:
		return h, err
	}
	if sniff(head[:]) != "WAV" {
		return h, notWAV(head[:], fromOpen)
	}
	rf64 := string(head[:4]) != "RIFF"
	riffSize := binary.LittleEndian.Uint32(head[4:8])

	var (
		format     wavFormat
		haveFmt    bool
		ds64Data   int64 = -1
		chunkCount int
	)
	for {
		chunkCount++
		if chunkCount > maxChunksSkip {
			return h, corrupt("more than %d chunks before the data chunk", maxChunksSkip)
		}
		var ch [8]byte
		n, err := cr.readFull(ch[:])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if n == 0 {
				return h, fmt.Errorf("%w: %w", ErrCorrupt, ErrNoData)
			}
			return h, fmt.Errorf("%w: %w (the file ends inside a chunk header): %w", ErrCorrupt, ErrNoData, ErrTruncated)
		}
		if err != nil {
			return h, err
		}
		id := string(ch[:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))

		switch id {
		case "fmt ":
			if haveFmt {
				break // keep the first; skip below
			}
			if size < 16 || size > maxFmtSize {
				return h, corrupt("fmt chunk of %d bytes", size)
			}
			body := make([]byte, size)
			if _, err := cr.readFull(body); err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return h, truncatedHeader("the file ends inside the fmt chunk")
				}
				return h, err
			}
			if format, err = parseFmt(body); err != nil {
				return h, err
			}
			haveFmt = true
			if err := skipPad(cr, size); err != nil {
				return h, err
			}
			continue
		case "ds64":
			if !rf64 || size < 28 || size > maxFmtSize {
				break // meaningless here; skip it
			}
			body := make([]byte, size)
			if _, err := cr.readFull(body); err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return h, truncatedHeader("the file ends inside the ds64 chunk")
				}
				return h, err
			}
			if d := binary.LittleEndian.Uint64(body[8:16]); d <= math.MaxInt64 {
				ds64Data = int64(d)
			}
			if err := skipPad(cr, size); err != nil {
				return h, err
			}
			continue
		case "data":
			if !haveFmt {
				return h, corrupt("data chunk before any fmt chunk")
			}
			h.format = format
			h.dataOffset = cr.n
			switch {
			case rf64 && size == 0xFFFFFFFF:
				h.dataSize = ds64Data // -1 without a ds64 chunk
			case size == 0xFFFFFFFF:
				h.dataSize = -1
			case size == 0 && (riffSize == 0 || riffSize == 0xFFFFFFFF):
				h.dataSize = -1 // a streaming writer never came back to fill in sizes
			case size == 0 && int64(riffSize)+8 <= cr.n && cr.more():
				// The sizes a writer puts first (libsndfile's: the RIFF
				// size ends here, data 0) with audio after them: it
				// stopped before filling them in. ffmpeg reads such data
				// to the end of the file (libavformat/wavdec.c); so do we.
				h.dataSize = -1
			default:
				h.dataSize = size
			}
			return h, nil
		}
		// Any other chunk (LIST, fact, bext, JUNK, cue, ...): skip it.
		if _, err := cr.discard(size); err != nil {
			if err == io.EOF {
				return h, fmt.Errorf("%w: %w (the file ends inside the %q chunk): %w", ErrCorrupt, ErrNoData, id, ErrTruncated)
			}
			return h, err
		}
		if err := skipPad(cr, size); err != nil {
			return h, err
		}
	}
}

// skipPad consumes the pad byte that follows an odd-sized chunk. Some
// writers forget it; when the next byte is not zero but starts what looks
// like a chunk ID, it is left alone.
func skipPad(cr *countingReader, size int64) error {
	if size%2 == 0 {
		return nil
	}
	b, err := cr.br.Peek(5)
	if len(b) == 0 {
		if err == io.EOF {
			return nil // the caller reports the missing data chunk
		}
		return err
	}
	if b[0] != 0 && len(b) == 5 && isChunkID(b[:4]) {
		return nil
	}
	_, err = cr.discard(1)
	if err == io.EOF {
		return nil
	}
	return err
}

func isChunkID(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// parseFmt validates a fmt chunk body (at least 16 bytes).
func parseFmt(b []byte) (wavFormat, error) {
	var f wavFormat
	le := binary.LittleEndian
	tag := le.Uint16(b[0:2])
	channels := int(le.Uint16(b[2:4]))
	rate := le.Uint32(b[4:8])
	blockAlign := int(le.Uint16(b[12:14]))
	bits := int(le.Uint16(b[14:16]))
	validBits := 0

	extensible := tag == tagExtensible
	if extensible {
		if len(b) < 40 || le.Uint16(b[16:18]) < 22 {
			return f, corrupt("WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", len(b))
		}
		validBits = int(le.Uint16(b[18:20]))
		guid := b[24:40]
		if [14]byte(guid[2:16]) != ksSubtypeTail {
			return f, fmt.Errorf("%w: WAV extensible sub-format %s", ErrUnsupportedFormat, formatGUID(guid))
		}
		tag = le.Uint16(guid[0:2])
	}

	switch {
	case channels == 0:
		return f, corrupt("zero channels")
	case channels > maxChannels:
		return f, corrupt("%d channels", channels)
	case rate == 0:
		return f, corrupt("zero sample rate")
	case rate < minSourceRate || rate > maxSourceRate:
		return f, corrupt("sample rate of %d Hz", rate)
	}
	if tag != tagPCM && tag != tagFloat {
		return f, fmt.Errorf("%w: WAV format tag 0x%04X (%s)", ErrUnsupportedFormat, tag, tagName(tag))
	}
	if bits == 0 {
		return f, corrupt("zero bits per sample")
	}
	if blockAlign == 0 || blockAlign%channels != 0 {
		return f, corrupt("block align of %d bytes for %d channels", blockAlign, channels)
	}
	container := blockAlign / channels
	if bits > container*8 {
		return f, corrupt("%d-bit samples in %d-byte slots", bits, container)
	}
	f = wavFormat{
		float:      tag == tagFloat,
		channels:   channels,
		rate:       int(rate),
		blockAlign: blockAlign,
		container:  container,
		validBits:  bits,
	}
	if validBits > 0 && validBits <= bits {
		f.validBits = validBits
	}
	if f.float {
		if !(bits == 32 && container == 4) && !(bits == 64 && container == 8) {
			return f, fmt.Errorf("%w: %d-bit float WAV", ErrUnsupportedFormat, bits)
		}
		return f, nil
	}
	if container > 4 {
		return f, fmt.Errorf("%w: %d-bit PCM WAV", ErrUnsupportedFormat, container*8)
	}
	return f, nil
}

func formatGUID(g []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08x-%04x-%04x-%x-%x}", le.Uint32(g[0:4]), le.Uint16(g[4:6]), le.Uint16(g[6:8]), g[8:10], g[10:16])
}

// wavSource reads the data chunk and delivers source-rate mono samples.
type wavSource struct {
	cr       *countingReader
	format   wavFormat
	sel      int   // channel to keep, or -1 to average
	left     int64 // data bytes still expected, or -1 to read to EOF
	declared int64 // the data chunk's declared size, or -1
	read     int64 // data bytes consumed
	raw      []byte
	scratch  []float32 // interleaved samples of one block
	trunc    bool
	done     bool
	err      error
}

func newWAVSource(cr *countingReader, h wavHeader, sel int) *wavSource {
	frames := max(1, readBlockBytes/h.format.blockAlign)
	return &wavSource{
		cr:       cr,
		format:   h.format,
		sel:      sel,
		left:     h.dataSize,
		declared: h.dataSize,
		raw:      make([]byte, frames*h.format.blockAlign),
		scratch:  make([]float32, frames*h.format.channels),
	}
}

func (s *wavSource) status() sourceStatus {
	ba := int64(s.format.blockAlign)
	st := sourceStatus{frames: s.read / ba, truncated: s.trunc}
	if s.trunc {
		want := s.declared / ba
		rate := float64(s.format.rate)
		st.warning = fmt.Errorf("audio: %w file: the header declares %d frames (%.2f s) but only %d (%.2f s) are present",
			ErrTruncated, want, float64(want)/rate, st.frames, float64(st.frames)/rate)
	}
	return st
}

// readMono fills dst with up to len(dst) mono samples. It returns io.EOF at
// the end of the data (a short data chunk sets trunc instead of failing),
// and may return n > 0 with an error.
func (s *wavSource) readMono(dst []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.done {
		return 0, io.EOF
	}
	ba := s.format.blockAlign
	frames := min(len(dst), len(s.raw)/ba)
	if s.left >= 0 {
		frames = int(min(int64(frames), s.left/int64(ba)))
		if frames == 0 {
			s.done = true
			return 0, io.EOF
		}
	}
	if frames == 0 {
		return 0, nil
	}
	n, err := s.cr.readFull(s.raw[:frames*ba])
	s.read += int64(n)
	got := n / ba
	if s.left >= 0 {
		s.left -= int64(n)
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if s.left > 0 {
			s.trunc = true
		}
		s.done = true
		err = nil
		if got == 0 {
			err = io.EOF
		}
	case err != nil:
		s.err = err
	}
	s.decode(s.raw[:got*ba], dst[:got])
	return got, err
}

// decode converts whole frames in raw to mono samples in dst.
func (s *wavSource) decode(raw []byte, dst []float32) {
	ch := s.format.channels
	if ch == 1 {
		convert(raw, dst, s.format)
		return
	}
	inter := s.scratch[:len(dst)*ch]
	convert(raw, inter, s.format)
	if s.sel >= 0 {
		for i := range dst {
			dst[i] = inter[i*ch+s.sel]
		}
		return
	}
	if ch == 2 {
		for i := range dst {
			dst[i] = (inter[2*i] + inter[2*i+1]) * 0.5
		}
		return
	}
	scale := 1 / float32(ch)
	for i := range dst {
		var sum float32
		for _, v := range inter[i*ch : i*ch+ch] {
			sum += v
		}
		dst[i] = sum * scale
	}
}

// convert turns packed samples into float32 in [-1, 1]. Integer PCM is
// divided by 2^(bits-1) of its container (valid bits sit in the top of the
// container, so the container size is the right scale); float samples are
// clamped, and NaN becomes 0.
func convert(raw []byte, out []float32, f wavFormat) {
	le := binary.LittleEndian
	switch {
	case f.float && f.container == 4:
		for i := range out {
			out[i] = clampSample(math.Float32frombits(le.Uint32(raw[4*i:])))
		}
	case f.float:
		for i := range out {
			out[i] = clampSample(float32(math.Float64frombits(le.Uint64(raw[8*i:]))))
		}
	case f.container == 1:
		for i := range out {
			out[i] = float32(int(raw[i])-128) * (1.0 / 128)
		}
	case f.container == 2:
		for i := range out {
			out[i] = float32(int16(le.Uint16(raw[2*i:]))) * (1.0 / 32768)
		}
	case f.container == 3:
		for i := range out {
			b := raw[3*i : 3*i+3]
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			out[i] = float32(v) * (1.0 / 8388608)
		}
	default: // 4
		for i := range out {
			out[i] = float32(int32(le.Uint32(raw[4*i:]))) * (1.0 / 2147483648)
		}
	}
}

// clampSample maps v into [-1, 1]; NaN becomes 0.
func clampSample(v float32) float32 {
	switch {
	case v > 1:
		return 1
	case v < -1:
		return -1
	case v != v:
		return 0
	}
	return v
}
