package diarize_test

import (
	"fmt"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
)

// BenchmarkCluster clusters 6 voices in 0.75 s windows; the anchor is the
// dense n×n cosine affinity of the same 10-minute input, the first step of
// clustering every window at once. bench/diarize/run.sh reports ratios and
// peak memory.
func BenchmarkCluster(b *testing.B) {
	for _, minutes := range []float64{10, 60, 240} {
		rec := diarizetest.Generate(diarizetest.Config{Speakers: 6, Seconds: minutes * 60, Seed: 1})
		b.Run(fmt.Sprintf("%gmin", minutes), func(b *testing.B) {
			b.ReportAllocs()
			var r diarize.Result
			for b.Loop() {
				r, _ = diarize.Cluster(rec.Embeddings, diarize.Options{})
			}
			b.ReportMetric(float64(len(r.Speakers)), "speakers")
		})
	}
}

func BenchmarkAnchorAffinity10min(b *testing.B) {
	rec := diarizetest.Generate(diarizetest.Config{Speakers: 6, Seconds: 600, Seed: 1})
	n := len(rec.Embeddings)
	a := make([]float32, n*n)
	for b.Loop() {
		for i := range n {
			vi := rec.Embeddings[i].Vector
			for j := i; j < n; j++ {
				var s float32
				for k, f := range rec.Embeddings[j].Vector {
					s += vi[k] * f
				}
				a[i*n+j], a[j*n+i] = s, s
			}
		}
	}
}

func BenchmarkAttribute(b *testing.B) {
	rec := diarizetest.Generate(diarizetest.Config{Speakers: 6, Seconds: 3600, Seed: 1})
	r, err := diarize.Cluster(rec.Embeddings, diarize.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tr := wordsEvery(3600, 0.3)
	b.ResetTimer()
	for b.Loop() {
		diarize.Attribute(tr, r)
	}
}
