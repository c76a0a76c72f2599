package transcribe

import (
	"math"
	"strings"
	"testing"
)

// TestAudioHash: the fingerprint changes with any one sample, with the
// order of samples (across lanes and within one), and with the length,
// and is the same for the same samples.
func TestAudioHash(t *testing.T) {
	base := make([]float32, 23) // five groups of four and a tail of three
	for i := range base {
		base[i] = float32(math.Sin(float64(i)))
	}
	h0 := audioHash(base)
	if audioHash(append([]float32(nil), base...)) != h0 {
		t.Fatal("the same samples hash differently")
	}
	if !strings.HasPrefix(h0, "4:") || !strings.HasSuffix(h0, "/23") {
		t.Errorf("hash %q: want the lane-count prefix and the length", h0)
	}
	seen := map[string]string{h0: "base"}
	check := func(name string, s []float32) {
		t.Helper()
		h := audioHash(s)
		if prev, ok := seen[h]; ok {
			t.Errorf("%s hashes as %s: %s", name, prev, h)
		}
		seen[h] = name
	}
	for i := range base {
		s := append([]float32(nil), base...)
		s[i] = math.Float32frombits(math.Float32bits(s[i]) ^ 1) // one ulp
		check("sample "+string(rune('a'+i))+" changed", s)
	}
	swap := func(i, j int) []float32 {
		s := append([]float32(nil), base...)
		s[i], s[j] = s[j], s[i]
		return s
	}
	check("lanes swapped", swap(0, 1))
	check("groups swapped", swap(0, 4))
	check("tail swapped", swap(20, 21))
	check("one sample shorter", base[:22])
	check("one zero longer", append(append([]float32(nil), base...), 0))
	check("empty", nil)
}

// BenchmarkAudioHash fingerprints one 30 s chunk, as every chunk sent is.
func BenchmarkAudioHash(b *testing.B) {
	s := make([]float32, 30*16000)
	for i := range s {
		s[i] = float32(i%997) / 997
	}
	b.SetBytes(4 * int64(len(s)))
	for b.Loop() {
		audioHash(s)
	}
}
