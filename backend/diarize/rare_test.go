package diarize_test

import (
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize/diarizetest"
)

// A voice heard for a few seconds of an hour has about one window in the
// stride sample; the second sample of worst-fitted windows must find it.
func TestClusterRareSpeaker(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("an hour of embeddings: slow under -race and -short")
	}
	rec := diarizetest.Generate(diarizetest.Config{Speakers: 6, Seconds: 3600, Seed: 5, Weights: []float64{1, 1, 1, 1, 1, 0.01}})
	rare := 0
	for _, s := range rec.Truth {
		if s == 5 {
			rare++
		}
	}
	r, err := diarize.Cluster(rec.Embeddings, diarize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, rec.Embeddings, r)
	if len(r.Speakers) != 6 {
		t.Fatalf("%d speakers, want 6 (one of them in %d of %d windows)", len(r.Speakers), rare, len(rec.Truth))
	}
	pred := speakersOf(r)
	acc, mapping := diarizetest.Accuracy(rec.Truth, pred)
	if acc < 0.98 {
		t.Errorf("accuracy %.4f", acc)
	}
	right := 0
	for i, s := range rec.Truth {
		if s == 5 && pred[i] >= 0 && mapping[pred[i]] == 5 {
			right++
		}
	}
	if right < rare*9/10 {
		t.Errorf("the rare voice got %d of its %d windows", right, rare)
	}
}
