package audio

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
)

// Real speech: Debian's pocketsphinx-testdata ships LibriVox clips (16 kHz
// mono, 3 to 7 s each). Joined with at least 400 ms of silence into
// minutes of audio, they must be cut only in the joins: never in a clip,
// so never inside a word.

const speechDir = "/usr/share/pocketsphinx/test/data/librivox"

// clip is where one clip lies in the joined recording, in samples.
type clip struct {
	name       string
	start, end int64
}

// joinSpeech joins the clips, in a shuffled order, repeated, with gaps of
// 400 to 900 ms, until the recording lasts at least minutes.
func joinSpeech(t *testing.T, minutes float64) ([]float32, []clip) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(speechDir, "*.wav"))
	if len(paths) == 0 {
		t.Skipf("pocketsphinx-testdata is not installed (no clips in %s): apt install pocketsphinx-testdata", speechDir)
	}
	var clips [][]float32
	for _, p := range paths {
		x, d := decodePath(t, p, Options{Decoder: DecoderBuiltin})
		if d.Info().SourceRate != SampleRate {
			t.Fatalf("%s: %d Hz", p, d.Info().SourceRate)
		}
		if float64(len(x))/SampleRate >= DefaultSearchSeconds {
			t.Fatalf("%s lasts %.1f s: longer than the search span, a cut could not avoid it", p, float64(len(x))/SampleRate)
		}
		clips = append(clips, x)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	var out []float32
	var where []clip
	for float64(len(out)) < minutes*60*SampleRate {
		for _, i := range rng.Perm(len(clips)) {
			gap := sec(0.4 + 0.5*rng.Float64())
			out = append(out, make([]float32, gap)...)
			where = append(where, clip{filepath.Base(paths[i]), int64(len(out)), int64(len(out) + len(clips[i]))})
			out = append(out, clips[i]...)
		}
	}
	return append(out, make([]float32, sec(0.5))...), where
}

func TestSpeechCutsFallInJoins(t *testing.T) {
	x, clips := joinSpeech(t, 4)
	dir := t.TempDir()
	wav := writeFile(t, filepath.Join(dir, "speech.wav"), wavBytes(t, x, SampleRate, 1, PCM16))
	sources := []struct {
		name string
		path string
		opts Options
	}{
		{"16k WAV", wav, Options{Decoder: DecoderBuiltin}},
	}
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		// The same recording as 44.1 kHz stereo FLAC: through either
		// resampler the cuts stay in the joins.
		flac := filepath.Join(dir, "speech.flac")
		ffmpegRun(t, "-i", wav, "-ar", "44100", "-ac", "2", flac)
		sources = append(sources,
			struct {
				name string
				path string
				opts Options
			}{"44.1k FLAC built-in", flac, Options{Decoder: DecoderBuiltin}},
			struct {
				name string
				path string
				opts Options
			}{"44.1k FLAC ffmpeg", flac, Options{Decoder: DecoderFFmpeg}},
		)
	} else {
		t.Log("ffmpeg is not installed: checking the 16 kHz WAV only")
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			d, err := Open(src.path, src.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			// What the engine uses.
			c := NewChunker(d, ChunkOptions{MaxSeconds: DefaultMaxSeconds})
			var cuts []int64
			for {
				ch, err := c.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ch.Index > 0 {
					cuts = append(cuts, ch.Offset)
				}
				if ch.Silent {
					t.Errorf("chunk %d flagged silent", ch.Index)
				}
			}
			if len(cuts) < 6 {
				t.Fatalf("%d cuts in %.0f s", len(cuts), float64(len(x))/SampleRate)
			}
			for _, cut := range cuts {
				for _, cl := range clips {
					if cut >= cl.start && cut < cl.end {
						t.Errorf("cut at %.3f s falls inside %s (%.3f..%.3f s)", float64(cut)/SampleRate, cl.name,
							float64(cl.start)/SampleRate, float64(cl.end)/SampleRate)
					}
				}
			}
			t.Logf("%d cuts, all in joins: %v", len(cuts), secondsOf(cuts))
		})
	}
}

func secondsOf(s []int64) []string {
	var out []string
	for _, v := range s {
		out = append(out, fmt.Sprintf("%.2f", float64(v)/SampleRate))
	}
	return out
}
