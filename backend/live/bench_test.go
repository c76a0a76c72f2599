package live

import (
	"context"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// BenchmarkSession feeds a minute of DTMF through a session with an
// audio file and an instant recogniser: the live path's own work. It
// reports the CPU per second of audio as a share of one core at real
// time (cpu-%).
func BenchmarkSession(b *testing.B) {
	var presses []dtmf.Press
	for t := 0.5; t < 60; t += 3 {
		presses = append(presses, dtmf.Press{Key: '1', Start: t, End: t + 0.2}, dtmf.Press{Key: '2', Start: t + 0.8, End: t + 2})
	}
	x := dtmf.Synthesize(presses, SampleRate, 60, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})
	b.ResetTimer()
	for range b.N {
		s, err := New(Config{Recognizer: silent{}, Dir: b.TempDir(), Emit: func(Event) {}})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(x); i += 320 {
			if err := s.Feed(x[i:min(i+320, len(x))]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	perAudioSecond := float64(b.Elapsed()) / float64(b.N) / 60
	b.ReportMetric(perAudioSecond/float64(time.Second)*100, "cpu-%")
}
