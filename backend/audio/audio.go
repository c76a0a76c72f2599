// Package audio turns audio files into what the speech model consumes:
// 16 kHz mono float32 samples in [-1, 1], delivered as a stream and cut
// into chunks at quiet places.
//
// Everything streams with bounded memory: a decoder holds one read block
// and the resampler's filter history, never a whole file's samples, so a
// two-hour recording costs no more memory than a two-second one.
//
// The pipeline for one file is
//
//	Open (sniff, parse the WAV header) -> decode a block of frames ->
//	mix to mono -> resample to 16 kHz -> Chunker
//
// Only WAV is decoded in this build (PCM 8/16/24/32-bit, IEEE float 32/64,
// WAVE_FORMAT_EXTENSIBLE, RF64); other containers are recognised by their
// content and refused with an error wrapping ErrUnsupportedFormat.
package audio

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// SampleRate is the rate of every Stream this package produces, in Hz.
const SampleRate = 16000

// Stream yields 16 kHz mono float32 samples in [-1, 1].
//
// Read follows io.Reader's contract for float32 samples: it returns
// io.EOF at the end. Streams made by this package never return n > 0
// together with an error.
type Stream interface {
	Read(p []float32) (int, error)
}

// Info describes the source of a Decoder.
type Info struct {
	// Format names the container and sample encoding, such as "wav/pcm16",
	// "wav/pcm24" or "wav/float32".
	Format string
	// SourceRate is the source's sample rate in Hz.
	SourceRate int
	// Channels is the source's channel count.
	Channels int
	// BitsPerSample is the number of significant bits per sample (the
	// valid bits of an extensible header, else the container size).
	BitsPerSample int
	// Frames is the number of source frames the decoder expects to
	// deliver, or -1 when the header does not say (a streamed WAV whose
	// sizes were never filled in, read from a plain io.Reader).
	Frames int64
	// Samples is the number of 16 kHz output samples the decoder expects
	// to deliver (see Decoder.Read), or -1 when Frames is unknown.
	Samples int64
	// Duration is Frames/SourceRate in seconds, or 0 when Frames is unknown.
	Duration float64
	// Truncated reports that the data chunk is shorter than its header
	// says. It may become true only when the decoder reaches the end, so
	// check it again after Read has returned io.EOF.
	Truncated bool
}

// MixMode says how several source channels become one.
type MixMode int

const (
	// MixAverage, the zero value, averages all channels with equal weight:
	// mono = (c0 + c1 + ... + cN-1) / N. Unlike ffmpeg's "-ac 1"
	// ((L+R)/sqrt 2 for stereo) it can never clip, and a mono source
	// passes through unchanged.
	MixAverage MixMode = iota
	// MixChannel takes the single channel Options.Channel (0-based) and
	// drops the others.
	MixChannel
)

// Options tune decoding. The zero value averages all channels.
type Options struct {
	// Mix selects averaging (the default) or one channel.
	Mix MixMode
	// Channel is the 0-based channel that MixChannel keeps. With
	// MixAverage it must be 0 or -1; any other value is refused with
	// ErrInvalidOptions so that a forgotten Mix cannot silently average.
	Channel int
}

// Errors returned by this package. Returned errors wrap one or more of
// them (test with errors.Is) and carry the specifics in their message.
var (
	// ErrEmpty: the file or stream holds no bytes at all.
	ErrEmpty = errors.New("file is empty")
	// ErrNotWAV: NewWAVDecoder was given something that is not RIFF/WAVE.
	ErrNotWAV = errors.New("not a WAV file")
	// ErrUnsupportedFormat: the container or codec is recognised but not
	// decoded by this build (MP3, FLAC, ADPCM WAV, ...), or not recognised.
	ErrUnsupportedFormat = errors.New("unsupported audio format")
	// ErrCorrupt: a WAV header with impossible or absurd values.
	ErrCorrupt = errors.New("corrupt WAV file")
	// ErrNoData: a WAV file that ends before any data chunk. Wrapped
	// together with ErrCorrupt.
	ErrNoData = errors.New("no data chunk")
	// ErrTruncated: the input ends early. In a header it is fatal and
	// wrapped together with ErrCorrupt; in the data chunk it is not an
	// error at all: the decoder delivers what is there and reports it
	// through Decoder.Truncated, Info.Truncated and Decoder.Warning.
	ErrTruncated = errors.New("truncated")
	// ErrInvalidOptions: Options that cannot apply, such as a channel the
	// source does not have.
	ErrInvalidOptions = errors.New("invalid audio options")
)

// Open decodes the file at path into a 16 kHz mono stream. The format is
// sniffed from the content, never from the extension. Close the Decoder to
// release the file.
//
// A missing or unreadable file gives the *os.PathError (which names the
// path); an empty file gives ErrEmpty; content that is not WAV gives
// ErrUnsupportedFormat (and ErrNotWAV).
func Open(path string, opts Options) (*Decoder, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	d, err := newDecoder(f, opts, true)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audio: %s: %w", path, err)
	}
	d.closer = f
	return d, nil
}

// NewWAVDecoder decodes a WAV byte stream into a 16 kHz mono stream. If r
// is also an io.Seeker its size is used to fill in Frames for streamed
// files and to detect a truncated data chunk up front. Close on the
// returned Decoder does not close r.
func NewWAVDecoder(r io.Reader, opts Options) (*Decoder, error) {
	return newDecoder(r, opts, false)
}

// sniff names the container of a file from its first bytes. It returns ""
// when nothing is recognised.
func sniff(b []byte) string {
	has := func(off int, s string) bool {
		return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s
	}
	switch {
	case has(0, "RIFF") && has(8, "WAVE"), has(0, "RF64") && has(8, "WAVE"), has(0, "BW64") && has(8, "WAVE"):
		return "WAV"
	case has(0, "RIFF") && has(8, "AVI "):
		return "AVI"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "WebP image"
	case has(0, "RIFF"):
		return "RIFF (not WAVE)"
	case has(0, "ID3"):
		return "MP3"
	case has(0, "fLaC"):
		return "FLAC"
	case has(0, "OggS"):
		return "Ogg"
	case has(4, "ftyp"):
		return "MP4/M4A"
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return "AIFF"
	case has(0, ".snd"):
		return "Sun AU"
	case has(0, "\x1a\x45\xdf\xa3"):
		return "Matroska/WebM"
	case has(0, "caff"):
		return "CAF"
	case has(0, "#!AMR"):
		return "AMR"
	case has(0, "0&\xb2\x75\x8e\x66\xcf\x11"):
		return "ASF/WMA"
	case len(b) >= 2 && b[0] == 0xFF && b[1]&0xF6 == 0xF0:
		return "AAC (ADTS)"
	case len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0:
		return "MP3"
	}
	return ""
}
