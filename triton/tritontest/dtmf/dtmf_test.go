package dtmf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const sr = 16000

// tolerance is the acceptance bound on start and end times.
const tolerance = 0.015

// seq lays out keys as presses of dur seconds separated by gap seconds,
// starting at t0.
func seq(keys string, t0, dur, gap float64) []Press {
	var out []Press
	t := t0
	for _, k := range keys {
		out = append(out, Press{Key: k, Start: t, End: t + dur})
		t += dur + gap
	}
	return out
}

// checkPresses compares detected presses with the truth, key by key and
// time by time.
func checkPresses(t *testing.T, got, want []Press) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d presses %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key {
			t.Errorf("press %d: key %q, want %q", i, g.Key, w.Key)
		}
		if math.Abs(g.Start-w.Start) > tolerance || math.Abs(g.End-w.End) > tolerance {
			t.Errorf("press %d (%c): [%.4f, %.4f], want [%.4f, %.4f]", i, w.Key, g.Start, g.End, w.Start, w.End)
		}
	}
}

func TestDetect(t *testing.T) {
	all := seq(Keys, 0.1, 0.08, 0.08)
	cases := []struct {
		name     string
		presses  []Press // sent
		want     []Press // expected; nil means same as presses
		duration float64
		opts     SynthOptions
	}{
		{name: "all 16 keys", presses: all, duration: 3},
		{name: "40 ms press detected", presses: seq("5", 0.2, 0.040, 0), duration: 0.5},
		{name: "40 ms presses with 40 ms gaps", presses: seq("1119#D", 0.05, 0.040, 0.040), duration: 0.6},
		{name: "30 ms press ignored", presses: seq("5", 0.2, 0.030, 0), want: []Press{}, duration: 0.5},
		{name: "30 ms among 40 ms", presses: []Press{{'1', 0.1, 0.14}, {'2', 0.3, 0.33}, {'3', 0.5, 0.54}}, want: []Press{{'1', 0.1, 0.14}, {'3', 0.5, 0.54}}, duration: 0.8},
		{name: "noise -30 dB", presses: all, duration: 3, opts: SynthOptions{NoiseDB: -30, Seed: 1}},
		{name: "frequencies 1.5% high", presses: all, duration: 3, opts: SynthOptions{FreqError: 0.015}},
		{name: "frequencies 1.5% low", presses: all, duration: 3, opts: SynthOptions{FreqError: -0.015}},
		{name: "noise and 1.5% high", presses: all, duration: 3, opts: SynthOptions{NoiseDB: -30, FreqError: 0.015, Seed: 2}},
		{name: "noise and 1.5% low, 40 ms", presses: seq(Keys, 0.1, 0.04, 0.05), duration: 1.6, opts: SynthOptions{NoiseDB: -30, FreqError: -0.015, Seed: 3}},
		{name: "quiet (-46 dBFS)", presses: all, duration: 3, opts: SynthOptions{Amplitude: 0.005}},
		{name: "loud", presses: all, duration: 3, opts: SynthOptions{Amplitude: 0.49}},
		{name: "keys back to back, no gap", presses: seq("12587", 0.1, 0.1, 0), duration: 0.7},
		{name: "long press", presses: seq("0", 0.3, 4.0, 0), duration: 5},
		{name: "silence", presses: nil, want: []Press{}, duration: 2},
		{name: "noise only", presses: nil, want: []Press{}, duration: 2, opts: SynthOptions{NoiseDB: -30, Amplitude: 0.25, Seed: 4}},
		{name: "cut at start", presses: []Press{{'7', 0, 0.06}, {'8', 0.2, 0.3}}, duration: 0.5},
		{name: "cut at end", presses: []Press{{'8', 0.1, 0.2}, {'9', 0.45, 0.5}}, duration: 0.5},
		{name: "cut at both ends", presses: []Press{{'#', 0, 0.3}}, duration: 0.3},
		{name: "cut at edges with noise", presses: []Press{{'*', 0, 0.05}, {'D', 0.95, 1.0}}, duration: 1, opts: SynthOptions{NoiseDB: -30, FreqError: 0.015, Seed: 5}},
		{name: "press longer than the audio", presses: []Press{{'4', -0.5, 0.1}, {'6', 0.4, 0.9}}, want: []Press{{'4', 0, 0.1}, {'6', 0.4, 0.5}}, duration: 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := Synthesize(c.presses, sr, c.duration, c.opts)
			want := c.want
			if want == nil {
				want = c.presses
			}
			checkPresses(t, Detect(x, sr), want)
		})
	}
}

// TestDetectRandom checks many random layouts with noise and detuning, and
// reports the worst timing error seen.
func TestDetectRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	worst := 0.0
	for trial := range 40 {
		var presses []Press
		tm := rng.Float64() * 0.2
		for tm < 9.5 {
			d := 0.04 + rng.Float64()*0.2
			presses = append(presses, Press{Key: rune(Keys[rng.IntN(16)]), Start: tm, End: tm + d})
			tm += d + 0.04 + rng.Float64()*0.4
		}
		opts := SynthOptions{NoiseDB: -30, FreqError: (rng.Float64()*2 - 1) * 0.015, Seed: uint64(trial), Amplitude: 0.05 + rng.Float64()*0.2}
		x := Synthesize(presses, sr, 10, opts)
		got := Detect(x, sr)
		t.Run(fmt.Sprint("trial", trial), func(t *testing.T) { checkPresses(t, got, clip(presses, 10)) })
		if len(got) == len(presses) {
			for i := range got {
				worst = max(worst, math.Abs(got[i].Start-presses[i].Start), math.Abs(got[i].End-min(presses[i].End, 10)))
			}
		}
	}
	t.Logf("worst timing error %.2f ms", worst*1000)
}

func clip(ps []Press, d float64) []Press {
	out := make([]Press, len(ps))
	for i, p := range ps {
		out[i] = Press{p.Key, max(p.Start, 0), min(p.End, d)}
	}
	return out
}

func TestDetectOtherSampleRate(t *testing.T) {
	for _, rate := range []int{8000, 44100} {
		presses := seq("147*", 0.05, 0.05, 0.05)
		checkPresses(t, Detect(Synthesize(presses, rate, 0.5, SynthOptions{}), rate), presses)
	}
	if got := Detect(make([]float32, 100), 3000); got != nil {
		t.Errorf("3 kHz: %v, want nothing", got)
	}
	if got := Detect(nil, sr); got != nil {
		t.Errorf("empty: %v, want nothing", got)
	}
}

func TestSegments(t *testing.T) {
	cases := []struct {
		name    string
		presses []Press
		want    []Segment // Presses left out
	}{
		{"none", nil, nil},
		{"one", []Press{{'1', 0.1, 0.2}}, []Segment{{Text: "1", Start: 0.1, End: 0.2}}},
		{"gap just under 1 s", []Press{{'1', 0.1, 0.2}, {'2', 1.19, 1.3}}, []Segment{{Text: "1 2", Start: 0.1, End: 1.3}}},
		{"gap of 1 s", []Press{{'1', 0.1, 0.2}, {'2', 1.2, 1.3}, {'3', 1.4, 1.5}}, []Segment{{Text: "1", Start: 0.1, End: 0.2}, {Text: "2 3", Start: 1.2, End: 1.5}}},
		{"three segments", []Press{{'#', 0, 0.1}, {'0', 2, 2.1}, {'*', 4, 4.1}}, []Segment{{Text: "#", Start: 0, End: 0.1}, {Text: "0", Start: 2, End: 2.1}, {Text: "*", Start: 4, End: 4.1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Segments(c.presses)
			if len(got) != len(c.want) {
				t.Fatalf("got %d segments %+v, want %d", len(got), got, len(c.want))
			}
			n := 0
			for i, w := range c.want {
				g := got[i]
				if g.Text != w.Text || g.Start != w.Start || g.End != w.End {
					t.Errorf("segment %d = %q [%v, %v], want %q [%v, %v]", i, g.Text, g.Start, g.End, w.Text, w.Start, w.End)
				}
				n += len(g.Presses)
			}
			if n != len(c.presses) {
				t.Errorf("segments hold %d presses, want %d", n, len(c.presses))
			}
		})
	}
}

// TestSegmentsFromAudio runs the whole path: audio with a 1 s pause splits
// into two segments, a 0.9 s pause does not.
func TestSegmentsFromAudio(t *testing.T) {
	presses := append(seq("12", 0.1, 0.1, 0.1), seq("34", 1.5, 0.1, 0.9)...)
	// 2 ends at 0.4; 3 starts at 1.5 (gap 1.1 s); 4 starts 0.9 s after 3 ends.
	x := Synthesize(presses, sr, 3, SynthOptions{NoiseDB: -30, Seed: 9})
	segs := Segments(Detect(x, sr))
	if len(segs) != 2 || segs[0].Text != "1 2" || segs[1].Text != "3 4" {
		t.Fatalf("segments %+v, want \"1 2\" and \"3 4\"", segs)
	}
	if Text(Detect(x, sr)) != "1 2 3 4" {
		t.Errorf("text %q", Text(Detect(x, sr)))
	}
}

func TestFreqs(t *testing.T) {
	if r, c, ok := Freqs('0'); !ok || r != 941 || c != 1336 {
		t.Errorf("Freqs('0') = %v %v %v", r, c, ok)
	}
	if r, c, ok := Freqs('A'); !ok || r != 697 || c != 1633 {
		t.Errorf("Freqs('A') = %v %v %v", r, c, ok)
	}
	if _, _, ok := Freqs('x'); ok {
		t.Error("Freqs('x') ok")
	}
}

// raceEnabled is set by race_test.go.
var raceEnabled = false

// TestDetectSpeed holds the detector to its budget: 30 s of audio well
// under 100 ms (the bound here is loose for slow or loaded machines, and
// not checked under the race detector).
func TestDetectSpeed(t *testing.T) {
	x := Synthesize(seq(Keys+Keys+Keys+Keys+Keys+Keys, 0.1, 0.1, 0.2), sr, 30, SynthOptions{NoiseDB: -30, Seed: 1})
	start := time.Now()
	got := Detect(x, sr)
	el := time.Since(start)
	if len(got) != 96 {
		t.Errorf("%d presses, want 96", len(got))
	}
	t.Logf("30 s analysed in %v", el)
	if el > 300*time.Millisecond && !testing.Short() && !raceEnabled {
		t.Errorf("30 s took %v", el)
	}
}

func BenchmarkDetect30s(b *testing.B) {
	x := Synthesize(seq(Keys+Keys+Keys+Keys+Keys+Keys, 0.1, 0.1, 0.2), sr, 30, SynthOptions{NoiseDB: -30, Seed: 1})
	for b.Loop() {
		Detect(x, sr)
	}
}
