// Package audio turns audio and video files into what the speech model
// consumes: 16 kHz mono float32 samples in [-1, 1], delivered as a stream
// and cut into chunks at quiet places.
//
// Two kinds of decoder sit behind Open. When ffmpeg is installed (found on
// PATH, at Options.FFmpegPath, or named by $NEMO_TRANSCRIBE_FFMPEG) it
// decodes every file: any container with an audio stream, resampled and
// mixed to 16 kHz mono by ffmpeg itself and read from its standard output.
// Without it, built-in pure-Go decoders read WAV (PCM 8/16/24/32-bit, IEEE
// float 32/64, WAVE_FORMAT_EXTENSIBLE, RF64), FLAC, MP3 (encoder delay and
// padding trimmed from the LAME/Xing header), Ogg Vorbis and Ogg Opus, and
// our own windowed-sinc resampler brings them to 16 kHz. Formats only
// ffmpeg reads (M4A/AAC, video containers, ...) then fail with an error
// wrapping ErrNeedsFFmpeg that says how to install it.
//
// Everything streams with bounded memory: a decoder holds one read block
// and the resampler's filter history, never a whole file's samples, so a
// two-hour recording costs no more memory than a two-second one.
//
// The pipeline for one file is
//
//	Open (sniff the content) -> decode a block of frames ->
//	mix to mono -> resample to 16 kHz -> Chunker
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
	// Format names the container and codec, such as "wav/pcm16",
	// "wav/float32", "flac", "mp3", "ogg/vorbis", "ogg/opus", or what
	// ffmpeg calls them ("mov,mp4,m4a,3gp,3g2,mj2/aac").
	Format string
	// Decoder is "ffmpeg" or "builtin".
	Decoder string
	// SourceRate is the source's sample rate in Hz.
	SourceRate int
	// Channels is the source's channel count.
	Channels int
	// BitsPerSample is the number of significant bits per sample of a
	// PCM or lossless source (the valid bits of an extensible WAV header,
	// else the container size); 0 for lossy codecs.
	BitsPerSample int
	// Frames is the number of source frames the decoder expects to
	// deliver, or -1 when the container does not say exactly.
	Frames int64
	// Samples is the number of 16 kHz output samples the decoder expects
	// to deliver (see Decoder.Read), or -1 when Frames is unknown. Once
	// Read has returned io.EOF, Frames and Samples are what was delivered.
	Samples int64
	// Duration is the length in seconds: Frames/SourceRate when Frames is
	// known, else the container's estimate (0 when it has none).
	Duration float64
	// Truncated reports that the file ends before its header says it
	// should. It may become true only when the decoder reaches the end,
	// so check it again after Read has returned io.EOF.
	Truncated bool
}

// MixMode says how several source channels become one.
type MixMode int

const (
	// MixAverage, the zero value, averages all channels with equal weight:
	// mono = (c0 + c1 + ... + cN-1) / N. Unlike ffmpeg's "-ac 1"
	// ((L+R)/sqrt 2 for stereo) it can never clip, and a mono source
	// passes through unchanged. The ffmpeg path asks ffmpeg for exactly
	// this mix.
	MixAverage MixMode = iota
	// MixChannel takes the single channel Options.Channel (0-based) and
	// drops the others: one side of a two-person interview recorded on
	// two channels.
	MixChannel
)

// DecoderMode chooses between ffmpeg and the built-in decoders.
type DecoderMode int

const (
	// DecoderAuto, the zero value, uses ffmpeg when it is found and the
	// built-in decoders otherwise. $NEMO_TRANSCRIBE_FFMPEG=off turns
	// ffmpeg off for the process.
	DecoderAuto DecoderMode = iota
	// DecoderBuiltin uses only the pure-Go decoders, even when ffmpeg is
	// installed.
	DecoderBuiltin
	// DecoderFFmpeg requires ffmpeg: Open fails when it is not found.
	DecoderFFmpeg
)

// String returns "auto", "builtin" or "ffmpeg".
func (m DecoderMode) String() string {
	switch m {
	case DecoderAuto:
		return "auto"
	case DecoderBuiltin:
		return "builtin"
	case DecoderFFmpeg:
		return "ffmpeg"
	}
	return fmt.Sprintf("DecoderMode(%d)", int(m))
}

// ParseDecoderMode parses "auto", "builtin" or "ffmpeg" (for flags and
// settings).
func ParseDecoderMode(s string) (DecoderMode, error) {
	for _, m := range []DecoderMode{DecoderAuto, DecoderBuiltin, DecoderFFmpeg} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: decoder %q (want auto, builtin or ffmpeg)", ErrInvalidOptions, s)
}

// Options tune decoding. The zero value averages all channels and uses
// ffmpeg when it is installed.
type Options struct {
	// Mix selects averaging (the default) or one channel.
	Mix MixMode
	// Channel is the 0-based channel that MixChannel keeps. With
	// MixAverage it must be 0 or -1; any other value is refused with
	// ErrInvalidOptions so that a forgotten Mix cannot silently average.
	Channel int
	// Decoder chooses ffmpeg or the built-in decoders (default: ffmpeg
	// when found).
	Decoder DecoderMode
	// FFmpegPath is the ffmpeg executable to run (a setting). Empty means
	// $NEMO_TRANSCRIBE_FFMPEG when that names a file, else "ffmpeg" on
	// PATH. ffprobe is looked for beside it; without ffprobe the file is
	// probed with "ffmpeg -i".
	FFmpegPath string
	// Ranges is how many ffmpeg processes may decode one file at once,
	// each its own part of it (parallel.go): 0 means GOMAXPROCS for files
	// of 90 s or more when GOMAXPROCS is 4 or more (else one), 1 a single
	// process, n > 1 up to n processes for any file long enough to split.
	// The samples are the same whatever the number.
	Ranges int
}

// FFmpegEnv is the environment variable that points the package at an
// ffmpeg executable, or turns ffmpeg off with "off" (the built-in decoders
// then read every file). Options.Decoder and Options.FFmpegPath, when
// set, take precedence.
const FFmpegEnv = "NEMO_TRANSCRIBE_FFMPEG"

// Errors returned by this package. Returned errors wrap one or more of
// them (test with errors.Is) and carry the specifics in their message.
var (
	// ErrEmpty: the file or stream holds no bytes at all.
	ErrEmpty = errors.New("file is empty")
	// ErrNotWAV: NewWAVDecoder was given something that is not RIFF/WAVE.
	ErrNotWAV = errors.New("not a WAV file")
	// ErrUnsupportedFormat: the container or codec is not decoded by the
	// decoders at hand (ADPCM WAV without ffmpeg, a text file, ...).
	ErrUnsupportedFormat = errors.New("unsupported audio format")
	// ErrNeedsFFmpeg: a format that only ffmpeg decodes (M4A/AAC, video,
	// WMA, ...) while ffmpeg is missing or turned off. Always wrapped
	// together with ErrUnsupportedFormat; the message says how to install
	// ffmpeg.
	ErrNeedsFFmpeg = errors.New("needs ffmpeg")
	// ErrNoAudio: a media file (a video, an image) with no audio stream.
	// Wrapped together with ErrUnsupportedFormat.
	ErrNoAudio = errors.New("no audio stream")
	// ErrFFmpeg: ffmpeg could not be run, or failed in a way that says
	// nothing about the file.
	ErrFFmpeg = errors.New("ffmpeg failed")
	// ErrCorrupt: a header with impossible or absurd values, or a stream
	// the decoder cannot make sense of.
	ErrCorrupt = errors.New("corrupt audio file")
	// ErrNoData: a WAV file that ends before any data chunk. Wrapped
	// together with ErrCorrupt.
	ErrNoData = errors.New("no data chunk")
	// ErrTruncated: the input ends early. In a header it is fatal and
	// wrapped together with ErrCorrupt; in the audio data it is not an
	// error at all: the decoder delivers what is there and reports it
	// through Decoder.Truncated, Info.Truncated and Decoder.Warning.
	ErrTruncated = errors.New("truncated")
	// ErrInvalidOptions: Options that cannot apply, such as a channel the
	// source does not have.
	ErrInvalidOptions = errors.New("invalid audio options")
)

// Open decodes the file at path into a 16 kHz mono stream. The format is
// sniffed from the content, never from the extension. Close the Decoder to
// release the file (and stop ffmpeg).
//
// A missing or unreadable file gives the *os.PathError (which names the
// path); an empty file gives ErrEmpty; a format the decoders at hand do
// not read gives ErrUnsupportedFormat (with ErrNeedsFFmpeg when ffmpeg
// would read it, ErrNoAudio for a video without sound).
func Open(path string, opts Options) (*Decoder, error) {
	d, err := open(path, opts)
	var eo errOpen
	switch {
	case errors.As(err, &eo):
		return nil, fmt.Errorf("audio: %w", eo.err) // the *PathError names the path
	case err != nil:
		return nil, fmt.Errorf("audio: %s: %w", path, err)
	}
	return d, nil
}

func open(path string, opts Options) (*Decoder, error) {
	sel, err := channelSelection(opts)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errOpen{err}
	}
	kind, err := sniffFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	tools, err := findFFmpeg(opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	if tools.ffmpeg != "" {
		return openFFmpeg(f, path, kind, sel, tools, opts)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	d, err := openBuiltin(f, kind, sel)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.closer = f
	return d, nil
}

// errOpen marks a failure to open the file itself.
type errOpen struct{ err error }

func (e errOpen) Error() string { return e.err.Error() }
func (e errOpen) Unwrap() error { return e.err }

// openBuiltin starts the pure-Go decoder for kind on f (positioned at the
// start of the file).
func openBuiltin(f *os.File, kind fileKind, sel int) (*Decoder, error) {
	switch kind.name {
	case kindWAV:
		return newDecoder(f, Options{Mix: mixFor(sel), Channel: sel}, true)
	case kindFLAC:
		return newFLACDecoder(f, kind, sel)
	case kindMP3:
		return newMP3Decoder(f, kind, sel)
	case kindVorbis:
		return newVorbisDecoder(f, kind, sel)
	case kindOpus:
		return newOpusDecoder(f, kind, sel)
	}
	return nil, needsFFmpeg(kind)
}

func mixFor(sel int) MixMode {
	if sel < 0 {
		return MixAverage
	}
	return MixChannel
}

// NewWAVDecoder decodes a WAV byte stream into a 16 kHz mono stream. If r
// is also an io.Seeker its size is used to fill in Frames for streamed
// files and to detect a truncated data chunk up front. Close on the
// returned Decoder does not close r.
func NewWAVDecoder(r io.Reader, opts Options) (*Decoder, error) {
	return newDecoder(r, opts, false)
}
