package transcribe

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// TestParallelDecodeKeepsTimestamps transcribes one long recording (WAV
// and MP3) decoded by one ffmpeg and by four at once (GOMAXPROCS decides)
// and wants the same transcript: every key, every word's time.
func TestParallelDecodeKeepsTimestamps(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (apt install ffmpeg)")
	}
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	var presses []dtmf.Press
	keys := "0123456789*#"
	for i := 0; i < 30; i++ {
		at := 2 + float64(i)*6.37
		presses = append(presses, dtmf.Press{Key: rune(keys[i%len(keys)]), Start: at, End: at + 0.25})
	}
	wav := filepath.Join(dir, "keys.wav")
	writeWAV(t, wav, presses, 44100, 200, -45)
	mp3 := filepath.Join(dir, "keys.mp3")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", wav, "-c:a", "libmp3lame", "-b:a", "128k", mp3).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	e := NewEngine()
	defer e.Close()
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, src := range []string{wav, mp3} {
		var got []string
		var durations []float64
		var words [][]float64
		for _, procs := range []int{1, 4} {
			runtime.GOMAXPROCS(procs)
			req := newRequest(t, addr, src)
			req.Decoder = "ffmpeg"
			res, err := e.Transcribe(context.Background(), req, nil)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatalf("%s, %d decoders: %v", filepath.Base(src), procs, err)
			}
			var times []float64
			for _, s := range res.Transcript.Segments {
				for _, w := range s.Words {
					times = append(times, w.Start, w.End)
				}
			}
			got = append(got, res.Transcript.Text)
			durations = append(durations, res.Transcript.Duration)
			words = append(words, times)
		}
		want := strings.TrimSpace(strings.Join(strings.Split(strings.Repeat(keys, 3)[:30], ""), " "))
		if got[0] != want {
			t.Errorf("%s: one decoder heard %q, want %q", filepath.Base(src), got[0], want)
		}
		if got[0] != got[1] || durations[0] != durations[1] || !reflect.DeepEqual(words[0], words[1]) {
			t.Errorf("%s: one decoder %q (%v s, %d times), four %q (%v s, %d times)", filepath.Base(src),
				got[0], durations[0], len(words[0]), got[1], durations[1], len(words[1]))
		}
		if len(words[0]) != 60 {
			t.Errorf("%s: %d word times, want 60", filepath.Base(src), len(words[0]))
		}
		t.Log(fmt.Sprintf("%s: %d keys, %.2f s, times equal", filepath.Base(src), len(strings.Fields(got[1])), durations[1]))
	}
}
