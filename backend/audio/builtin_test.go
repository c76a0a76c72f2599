package audio

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The committed fixtures decode through the built-in decoders with no
// ffmpeg: exact lengths, each channel where it belongs.
func TestBuiltinFixtures(t *testing.T) {
	for _, tt := range []struct {
		file     string
		format   string
		rate, ch int
		frames   int64
	}{
		{"tone-stereo-44k.flac", "flac", 44100, 2, 13230},
		{"tone-stereo-44k.mp3", "mp3", 44100, 2, 13230},
		{"tone-stereo-44k.ogg", "ogg/vorbis", 44100, 2, 13230},
		{"tone-stereo-44k.opus", "ogg/opus", 48000, 2, 14400},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			y, d := decodePath(t, path, Options{Decoder: DecoderBuiltin})
			info := d.Info()
			want := Info{Format: tt.format, Decoder: "builtin", SourceRate: tt.rate, Channels: tt.ch, BitsPerSample: info.BitsPerSample,
				Frames: tt.frames, Samples: 4800, Duration: float64(tt.frames) / float64(tt.rate)}
			if info != want || len(y) != 4800 || d.Warning() != nil {
				t.Fatalf("Info %+v, %d samples, Warning %v; want %+v", info, len(y), d.Warning(), want)
			}
			left := y
			if tt.ch == 2 {
				left, _ = decodePath(t, path, Options{Decoder: DecoderBuiltin, Mix: MixChannel, Channel: 0})
				right, _ := decodePath(t, path, Options{Decoder: DecoderBuiltin, Mix: MixChannel, Channel: 1})
				if a, _ := fitTone(right[sec(0.15):sec(0.28)], 1234.5, SampleRate); math.Abs(db(a/0.3)) > 1 {
					t.Errorf("right channel: 1234.5 Hz at %.3f, want 0.3", a)
				}
				if a, _ := fitTone(left[sec(0.15):sec(0.28)], 1234.5, SampleRate); a > 0.01 {
					t.Errorf("left channel holds the right's tone at %.3f", a)
				}
			}
			if a, _ := fitTone(left[sec(0.02):sec(0.13)], 440, SampleRate); math.Abs(db(a/0.4)) > 1 {
				t.Errorf("left channel: 440 Hz at %.3f, want 0.4", a)
			}
		})
	}
	// go-mp3 gets MPEG-2 layer III (22.05 kHz and below) wrong: it is
	// left to ffmpeg.
	_, err := Open(filepath.Join("testdata", "tone-mono-22k.mp3"), Options{Decoder: DecoderBuiltin})
	if !errors.Is(err, ErrNeedsFFmpeg) || !strings.Contains(err.Error(), "MP3 at 22050 Hz (MPEG-2) needs ffmpeg") {
		t.Errorf("MPEG-2 MP3: %v", err)
	}
}
