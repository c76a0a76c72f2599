package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// formatPresses is a short fixture: long and short presses, close
// neighbours, a few seconds in all.
var formatPresses = []dtmf.Press{
	{Key: '1', Start: 0.50, End: 0.70},
	{Key: '5', Start: 1.10, End: 1.16},
	{Key: '9', Start: 1.60, End: 2.00},
	{Key: '#', Start: 2.40, End: 2.60},
	{Key: 'A', Start: 3.05, End: 3.20},
	{Key: '0', Start: 3.50, End: 3.75},
	{Key: 'D', Start: 4.30, End: 4.70},
}

const formatSeconds = 5.2

// mediaFormat is one way ffmpeg encodes the fixture.
type mediaFormat struct {
	name    string
	ext     string
	args    []string // encoder options after the inputs
	video   bool     // add a video track (ffmpeg's lavfi colour source)
	builtin bool     // the built-in decoders read it too
}

var mediaFormats = []mediaFormat{
	{name: "wav16", ext: "wav", args: []string{"-c:a", "pcm_s16le"}, builtin: true},
	{name: "wav24", ext: "wav", args: []string{"-c:a", "pcm_s24le"}, builtin: true},
	{name: "wavfloat", ext: "wav", args: []string{"-c:a", "pcm_f32le"}, builtin: true},
	{name: "flac", ext: "flac", args: []string{"-c:a", "flac"}, builtin: true},
	{name: "mp3", ext: "mp3", args: []string{"-c:a", "libmp3lame", "-b:a", "128k"}, builtin: true},
	{name: "vorbis", ext: "ogg", args: []string{"-c:a", "libvorbis", "-q:a", "4"}, builtin: true},
	{name: "opus", ext: "opus", args: []string{"-c:a", "libopus", "-b:a", "64k"}, builtin: true},
	{name: "m4a", ext: "m4a", args: []string{"-c:a", "aac", "-b:a", "128k"}},
	{name: "mp4video", ext: "mp4", args: []string{"-c:v", "mpeg4", "-c:a", "aac", "-b:a", "128k", "-shortest"}, video: true},
}

// needFFmpeg skips a test that makes its fixtures with ffmpeg.
func needFFmpeg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed: the format tests encode their fixtures with it (apt install ffmpeg)")
	}
	return p
}

// encode writes the fixture src in format f to dir.
func encode(t *testing.T, ffmpeg, src, dir string, f mediaFormat) string {
	t.Helper()
	out := filepath.Join(dir, f.name+"."+f.ext)
	args := []string{"-nostdin", "-v", "error", "-y"}
	if f.video {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("color=c=navy:s=96x64:r=10:d=%g", formatSeconds))
	}
	args = append(args, "-i", src)
	if f.video {
		args = append(args, "-map", "0:v", "-map", "1:a")
	}
	args = append(args, f.args...)
	args = append(args, out)
	if b, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// checkTranscript holds a transcript to the fixture: every key, in order,
// within 50 ms at both ends.
func checkTranscript(t *testing.T, tr transcript.Transcript, presses []dtmf.Press) {
	t.Helper()
	var words []transcript.Word
	for _, s := range tr.Segments {
		words = append(words, s.Words...)
	}
	if tr.Text != dtmf.Text(presses) || len(words) != len(presses) {
		t.Fatalf("text %q (%d words), want %q", tr.Text, len(words), dtmf.Text(presses))
	}
	const tol = 0.050
	for i, p := range presses {
		w := words[i]
		if w.Word != string(p.Key) || math.Abs(w.Start-p.Start) > tol || math.Abs(w.End-p.End) > tol {
			t.Errorf("word %d = %q %.3f..%.3f, want %q %.3f..%.3f (±%.0f ms)", i, w.Word, w.Start, w.End, string(p.Key), p.Start, p.End, tol*1000)
		}
	}
}

// The fixture encoded by ffmpeg in every common format, at 44.1 and 48 kHz
// stereo, transcribes to the exact keys and times through the CLI: through
// ffmpeg, and through the built-in decoders for the formats they read.
// Without ffmpeg, the formats only it reads fail saying how to get it.
func TestFormatsTranscribe(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()

	type fixture struct {
		name string
		path string
		f    mediaFormat
	}
	var fixtures []*fixture
	t.Run("encode", func(t *testing.T) {
		for _, rate := range []int{44100, 48000} {
			src := filepath.Join(dir, fmt.Sprintf("src-%d.wav", rate))
			writeDTMF(t, src, formatPresses, rate, formatSeconds)
			for _, f := range mediaFormats {
				fx := &fixture{name: fmt.Sprintf("%s-%d", f.name, rate), f: f}
				fixtures = append(fixtures, fx)
				sub := filepath.Join(dir, fx.name)
				if err := os.MkdirAll(sub, 0o755); err != nil {
					t.Fatal(err)
				}
				t.Run(fx.name, func(t *testing.T) {
					t.Parallel()
					fx.path = encode(t, ffmpeg, src, sub, f)
				})
			}
		}
	})
	if t.Failed() {
		return
	}

	transcribe := func(t *testing.T, fx *fixture) cliResult {
		out := t.TempDir()
		return runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json",
			"--cache-dir", filepath.Join(out, "cache"), fx.path)
	}
	result := func(t *testing.T, r cliResult, fx *fixture) transcript.Transcript {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		json := strings.TrimSuffix(strings.TrimSpace(strings.SplitN(r.stdout, " -> ", 2)[1]), "\n")
		return readTranscript(t, json)
	}

	t.Run("ffmpeg", func(t *testing.T) {
		t.Setenv(audio.FFmpegEnv, ffmpeg)
		for _, fx := range fixtures {
			t.Run(fx.name, func(t *testing.T) {
				t.Parallel()
				tr := result(t, transcribe(t, fx), fx)
				checkTranscript(t, tr, formatPresses)
				// AAC encoders pad the end to a whole frame; everything
				// else ends where the source did.
				if slack := 0.05; !strings.Contains(fx.name, "m4a") && !strings.Contains(fx.name, "mp4") && math.Abs(tr.Duration-formatSeconds) > slack {
					t.Errorf("duration %.3f s, want %.3f", tr.Duration, formatSeconds)
				}
			})
		}
	})

	t.Run("builtin", func(t *testing.T) {
		t.Setenv(audio.FFmpegEnv, "off")
		for _, fx := range fixtures {
			t.Run(fx.name, func(t *testing.T) {
				t.Parallel()
				r := transcribe(t, fx)
				if !fx.f.builtin {
					if r.code != 1 || !strings.Contains(r.stderr, "needs ffmpeg") || !strings.Contains(r.stderr, "install it") {
						t.Fatalf("exit %d, stderr %q: want a failure saying ffmpeg is needed and how to install it", r.code, r.stderr)
					}
					return
				}
				tr := result(t, r, fx)
				checkTranscript(t, tr, formatPresses)
				if math.Abs(tr.Duration-formatSeconds) > 0.001 {
					t.Errorf("duration %.4f s, want %.3f", tr.Duration, formatSeconds)
				}
			})
		}
	})
}
