package audio

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dot (AVX2 where the CPU has it) agrees with the plain Go loop at every
// length, to float32 rounding.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for n := 0; n <= 300; n++ {
		x, h := make([]float32, n), make([]float32, n+5)
		noise(rng, x, 1)
		noise(rng, h, 1)
		var exact float64
		for i := range x {
			exact += float64(x[i]) * float64(h[i])
		}
		got, ref := dot(x, h), dotGo(x, h[:n])
		if math.Abs(float64(got)-exact) > 1e-5*math.Sqrt(float64(n)+1) || math.Abs(float64(got-ref)) > 1e-4 {
			t.Fatalf("n=%d: dot %v, Go loop %v, exact %v", n, got, ref, exact)
		}
	}
	t.Logf("AVX2: %v", useAVX2)
}

func BenchmarkDot178(b *testing.B) {
	x, h := make([]float32, 178), make([]float32, 178)
	var sink float32
	for b.Loop() {
		sink += dot(x, h)
	}
	_ = sink
}
