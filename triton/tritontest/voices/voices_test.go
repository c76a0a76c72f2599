package voices

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

const sr = 16000

// The similarity margins the voices model promises from 0.25 s spans.
const (
	sameAtLeast      = 0.95 // one voice, any keys, positions and lengths
	differentAtMost  = 0.25 // voices 10% or more apart
	shortestTestSpan = 0.25
)

// span is the samples of one press of x.
func span(x []float32, p dtmf.Press) []float32 {
	return x[int(math.Round(p.Start*sr)):int(math.Round(p.End*sr))]
}

func TestHarmonics(t *testing.T) {
	cases := []struct {
		f0   float64
		want []float64
	}{
		{90, []float64{90, 180, 270, 360, 450, 540}},
		{150, []float64{150, 300, 450, 600}},
		{200, []float64{200, 400, 600}},
		{310, []float64{310}},
		{320, []float64{320}},
	}
	for _, c := range cases {
		if got := Harmonics(c.f0); !slices.Equal(got, c.want) {
			t.Errorf("Harmonics(%g) = %v, want %v", c.f0, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		f0s []float64
		ok  bool
	}{
		{[]float64{110, 150, 205}, true},
		{[]float64{100, 110}, true},
		{[]float64{100, 109}, false},
		{[]float64{89}, false},
		{[]float64{321}, false},
		{[]float64{90, 320}, true},
	} {
		if err := Check(c.f0s); (err == nil) != c.ok {
			t.Errorf("Check(%v) = %v, want ok %v", c.f0s, err, c.ok)
		}
	}
}

// TestSynthesizeVoice: the voice sounds over exactly the press's samples,
// LevelDB below it, with only its harmonics.
func TestSynthesizeVoice(t *testing.T) {
	press := dtmf.Press{Key: '5', Start: 0.1, End: 0.6}
	keys := dtmf.Synthesize([]dtmf.Press{press}, sr, 0.8, dtmf.SynthOptions{})
	both := Synthesize([]Press{{press, 150}}, sr, 0.8, dtmf.SynthOptions{})
	var pk, pv float64
	for i := range both {
		v := float64(both[i] - keys[i])
		inside := i >= 1600 && i < 9600
		if !inside && v != 0 {
			t.Fatalf("voice at sample %d, outside the press [1600, 9600)", i)
		}
		if inside {
			pk += float64(keys[i]) * float64(keys[i])
			pv += v * v
		}
	}
	if db := 10 * math.Log10(pv/pk); math.Abs(db-LevelDB) > 0.1 {
		t.Errorf("voice %.2f dB relative to the press, want %g", db, LevelDB)
	}
	if f0, _, ok := Pitch(both[1600:9600], sr); !ok || math.Abs(f0-150) > 0.5 {
		t.Errorf("Pitch = %v %v, want 150 Hz", f0, ok)
	}
	// A press cut by the start of the audio: the voice starts where the
	// press would have, phase and all.
	cut := Synthesize([]Press{{dtmf.Press{Key: '5', Start: -0.1, End: 0.2}, 150}}, sr, 0.3, dtmf.SynthOptions{})
	whole := Synthesize([]Press{{dtmf.Press{Key: '5', Start: 0, End: 0.3}, 150}}, sr, 0.4, dtmf.SynthOptions{})
	for i := range 1600 {
		if math.Abs(float64(cut[i]-whole[1600+i])) > 1e-5 {
			t.Fatalf("sample %d of a cut press: %v, want %v", i, cut[i], whole[1600+i])
		}
	}
}

// TestEmbedTellsVoicesApart: voices 10% apart over the whole range, from
// 0.25 s presses on different keys, with noise: every same-voice pair is
// similar, every pair 10% apart is not, with a clear margin between.
func TestEmbedTellsVoicesApart(t *testing.T) {
	worstSame, worstDiff := 1.0, -1.0
	for f := MinF0; f*MinSeparation <= MaxF0+1e-9; f *= 1.07 {
		g := f * MinSeparation
		t.Run(fmt.Sprintf("%.0f-%.0fHz", f, g), func(t *testing.T) {
			presses := []Press{
				{dtmf.Press{Key: '1', Start: 0.10, End: 0.35}, f},
				{dtmf.Press{Key: '1', Start: 0.50, End: 0.75}, g},
				{dtmf.Press{Key: '#', Start: 0.90, End: 1.15}, f},
				{dtmf.Press{Key: 'D', Start: 1.30, End: 1.55}, g},
			}
			x := Synthesize(presses, sr, 1.7, dtmf.SynthOptions{NoiseDB: -40, Seed: uint64(f)})
			e := make([][]float32, len(presses))
			for i, p := range presses {
				e[i] = Embed(span(x, p.Press), sr)
			}
			same := min(Cosine(e[0], e[2]), Cosine(e[1], e[3]))
			diff := max(Cosine(e[0], e[1]), Cosine(e[0], e[3]), Cosine(e[2], e[1]), Cosine(e[2], e[3]))
			worstSame, worstDiff = min(worstSame, same), max(worstDiff, diff)
			if same < sameAtLeast || diff > differentAtMost {
				t.Errorf("same voice %.3f (want >= %g), 10%% apart %.3f (want <= %g)", same, sameAtLeast, diff, differentAtMost)
			}
		})
	}
	t.Logf("worst same-voice similarity %.3f, worst 10%%-apart similarity %.3f", worstSame, worstDiff)
}

// TestEmbedSameVoiceEverywhere: one voice on every key, at every position,
// 0.25 s to 3 s long, over noise and detuned keys, is one voice.
func TestEmbedSameVoiceEverywhere(t *testing.T) {
	for _, f0 := range []float64{90, 133, 205, 320} {
		t.Run(fmt.Sprint(f0), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(f0), 1))
			var presses []Press
			tm := 0.05
			for _, key := range dtmf.Keys {
				d := shortestTestSpan + rng.Float64()*(3-shortestTestSpan)
				presses = append(presses, Press{dtmf.Press{Key: key, Start: tm, End: tm + d}, f0})
				tm += d + 0.05 + rng.Float64()*0.3
			}
			x := Synthesize(presses, sr, tm, dtmf.SynthOptions{NoiseDB: -30, FreqError: 0.015, Seed: 3, Amplitude: 0.1})
			ref := Bump(f0)
			for _, p := range presses {
				if s := Cosine(Embed(span(x, p.Press), sr), ref); s < sameAtLeast {
					t.Errorf("press %c at %.2f s (%.2f s): similarity %.3f to the voice", p.Key, p.Start, p.End-p.Start, s)
				}
			}
		})
	}
}

func TestEmbedSilenceIsZero(t *testing.T) {
	for name, x := range map[string][]float32{
		"silence":   make([]float32, sr/2),
		"keys only": dtmf.Synthesize([]dtmf.Press{{Key: '9', Start: 0, End: 0.5}}, sr, 0.5, dtmf.SynthOptions{}),
		"empty":     nil,
	} {
		e := Embed(x, sr)
		if len(e) != EmbeddingSize || slices.ContainsFunc(e, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: embedding is not zero", name)
		}
	}
	if n := Cosine(Bump(150), Bump(150)); math.Abs(n-1) > 1e-6 {
		t.Errorf("a bump's norm: cosine with itself %v", n)
	}
}

// TestBumpSimilarity holds the embedding to its design:
// exp(-(ln r)^2 / (4 BumpWidth^2)) for f0s a ratio r apart.
func TestBumpSimilarity(t *testing.T) {
	for _, r := range []float64{1, 1.01, 1.05, 1.10, 1.25} {
		for _, f := range []float64{90, 150, 290} {
			if f*r > MaxF0 {
				continue
			}
			want := math.Exp(-math.Pow(math.Log(r), 2) / (4 * BumpWidth * BumpWidth))
			if got := Cosine(Bump(f), Bump(f*r)); math.Abs(got-want) > 0.01 {
				t.Errorf("%g Hz and %g×: similarity %.4f, want %.4f", f, r, got, want)
			}
		}
	}
}

// TestDTMFStaysExactWithVoices: the dtmf detector hears the same keys at
// the same times with voices under them, 40 ms presses included.
func TestDTMFStaysExactWithVoices(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	f0s := []float64{90, 99, 110, 150, 205, 290, 320}
	for trial := range 20 {
		var presses []Press
		tm := rng.Float64() * 0.2
		for tm < 9.5 {
			d := 0.04 + rng.Float64()*0.4
			presses = append(presses, Press{dtmf.Press{Key: rune(dtmf.Keys[rng.IntN(16)]), Start: tm, End: tm + d}, f0s[rng.IntN(len(f0s))]})
			tm += d + 0.04 + rng.Float64()*0.4
		}
		opts := dtmf.SynthOptions{NoiseDB: -30, FreqError: (rng.Float64()*2 - 1) * 0.015, Seed: uint64(trial), Amplitude: 0.05 + rng.Float64()*0.2}
		got := dtmf.Detect(Synthesize(presses, sr, 10, opts), sr)
		t.Run(fmt.Sprint("trial", trial), func(t *testing.T) {
			if len(got) != len(presses) {
				t.Fatalf("%d presses heard, %d sent", len(got), len(presses))
			}
			for i, p := range presses {
				g := got[i]
				if g.Key != p.Key || math.Abs(g.Start-p.Start) > 0.015 || math.Abs(g.End-min(p.End, 10)) > 0.015 {
					t.Errorf("press %d: %c [%.4f, %.4f], want %c [%.4f, %.4f]", i, g.Key, g.Start, g.End, p.Key, p.Start, p.End)
				}
			}
		})
	}
}

func TestTurns(t *testing.T) {
	if got := Turns(7, 3, 2); !slices.Equal(got, []int{0, 0, 1, 1, 2, 2, 0}) {
		t.Errorf("Turns(7, 3, 2) = %v", got)
	}
	if got := Turns(3, 1, 1); !slices.Equal(got, []int{0, 0, 0}) {
		t.Errorf("Turns(3, 1, 1) = %v", got)
	}
}

func TestRandomTurns(t *testing.T) {
	a := RandomTurns(200, 5, 1, 6, 42)
	if b := RandomTurns(200, 5, 1, 6, 42); !slices.Equal(a, b) {
		t.Fatal("the same seed gave other turns")
	}
	if c := RandomTurns(200, 5, 1, 6, 43); slices.Equal(a, c) {
		t.Error("another seed gave the same turns")
	}
	seen := map[int]bool{}
	run := 0
	for i, v := range a {
		seen[v] = true
		if i > 0 && a[i-1] == v {
			run++
		} else {
			run = 1
		}
		// Turns of the same voice never follow each other, so a run is
		// one turn: at most 6 keys.
		if run > 6 {
			t.Fatalf("a run of %d presses of voice %d at %d: %v", run, v, i, a)
		}
	}
	if len(seen) != 5 {
		t.Errorf("voices used: %v, want all 5", seen)
	}
}

func BenchmarkEmbed(b *testing.B) {
	for _, seconds := range []float64{0.25, 1.5, 30} {
		x := Synthesize([]Press{{dtmf.Press{Key: '3', Start: 0, End: seconds}, 150}}, sr, seconds, dtmf.SynthOptions{NoiseDB: -40})
		b.Run(fmt.Sprintf("%gs", seconds), func(b *testing.B) {
			for b.Loop() {
				Embed(x, sr)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	for n := 1; n <= MaxVoices; n++ {
		f0s, err := Spread(n)
		if err != nil || len(f0s) != n {
			t.Fatalf("Spread(%d) = %v, %v", n, f0s, err)
		}
	}
	if MaxVoices < 8 {
		t.Errorf("only %d voices fit; the issue's benchmarks need 8", MaxVoices)
	}
	if _, err := Spread(MaxVoices + 1); err == nil {
		t.Errorf("Spread(%d) fits voices closer than 10%%", MaxVoices+1)
	}
}

func TestRandomPresses(t *testing.T) {
	ps := RandomPresses(60, 0.25, 0.6, 0.1, 0.8, 5)
	if len(ps) < 60 {
		t.Fatalf("%d presses in 60 s", len(ps))
	}
	for i, p := range ps {
		if d := p.End - p.Start; d < 0.25-1e-4 || d > 0.6+1e-4 || p.End > 60 {
			t.Errorf("press %d: %+v", i, p)
		}
		if i > 0 && p.Start-ps[i-1].End < 0.1-1e-4 {
			t.Errorf("press %d starts %.4f s after the last", i, p.Start-ps[i-1].End)
		}
	}
	if !slices.Equal(ps, RandomPresses(60, 0.25, 0.6, 0.1, 0.8, 5)) {
		t.Error("the same seed gave other presses")
	}
}
