package live

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Real speech: Debian's pocketsphinx-testdata ships LibriVox clips (16 kHz
// mono, 3 to 7 s). Joined with gaps of a second and more of quiet room
// noise, every gap must end an utterance, and the speech must all be
// inside utterances.
const speechDir = "/usr/share/pocketsphinx/test/data/librivox"

type silent struct{}

func (silent) Recognize(context.Context, int, []float32, inference.Options) (transcript.ChunkResult, error) {
	return transcript.ChunkResult{}, nil
}

func TestVADOnSpeech(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(speechDir, "*.wav"))
	if len(paths) == 0 {
		t.Skipf("pocketsphinx-testdata is not installed (no clips in %s): apt install pocketsphinx-testdata", speechDir)
	}
	type clip struct{ start, end int }
	var x []float32
	var clips []clip
	noise := func(n int) {
		for i := range n { // a quiet room, -60 dBFS, not digital silence
			x = append(x, float32(0.001*float64((i*7919)%200-100)/100*1.7))
		}
	}
	noise(SampleRate)
	for i, p := range paths {
		d, err := audio.Open(p, audio.Options{Decoder: audio.DecoderBuiltin})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float32, 4096)
		start := len(x)
		for {
			n, err := d.Read(buf)
			x = append(x, buf[:n]...)
			if err != nil {
				break
			}
		}
		d.Close()
		clips = append(clips, clip{start, len(x)})
		noise(SampleRate + (i%3)*SampleRate/4)
	}
	rec := newRecorder()
	s, err := New(Config{Recognizer: silent{}, Clock: NewFakeClock(time.Unix(0, 0)), Emit: rec.emit})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, s, x, 512)
	if _, err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	fin := rec.of(EventFinal)
	if len(fin) < len(clips) {
		t.Fatalf("%d utterances for %d clips", len(fin), len(clips))
	}
	// No utterance runs from one clip into the next.
	for _, f := range fin {
		a, b := int(f.Start*SampleRate), int(f.End*SampleRate)
		in := 0
		for _, c := range clips {
			if a < c.end && b > c.start {
				in++
			}
		}
		if in != 1 {
			t.Errorf("utterance %.2f-%.2f s spans %d clips", f.Start, f.End, in)
		}
	}
	// Every 10 ms of speech louder than -40 dBFS is inside an utterance.
	var loud, covered int
	for _, c := range clips {
		for i := c.start; i+frameSamples <= c.end; i += frameSamples {
			if dbfs(meanSquare(x[i:i+frameSamples])) < -40 {
				continue
			}
			loud++
			at := float64(i) / SampleRate
			for _, f := range fin {
				if at >= f.Start-0.2 && at <= f.End+0.15 {
					covered++
					break
				}
			}
		}
	}
	if float64(covered) < 0.99*float64(loud) {
		t.Errorf("only %d of %d loud frames of speech are in utterances", covered, loud)
	}
	t.Logf("%d clips, %d utterances, %d of %d loud frames covered", len(clips), len(fin), covered, loud)
}
