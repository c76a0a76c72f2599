package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

func TestEmbeddingsRoundTripAndOutliveTheTranscript(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := open(t, dir)
	want := Embeddings{Plan: "spk", Index: 3, Offset: 48000, Samples: 16000, AudioHash: "h/16000",
		Spans: [][2]int64{{0, 4000}, {5000, 9000}}, Vectors: [][]float32{{1, 0, -0.5}, {0, 0, 0}}}
	if err := d.PutEmbeddings(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := d.PutEmbeddings(ctx, Embeddings{Plan: "spk", Index: 4, Spans: [][2]int64{{0, 1}}, Vectors: [][]float32{{1}, {2}}}); err == nil {
		t.Error("spans and vectors of different counts were stored")
	}
	// A transcript of another plan, and its chunks dropped, leave the
	// embeddings: they are keyed by the speaker plan.
	if _, err := d.PutTranscript(ctx, Entry{Plan: "asr", Source: "/a.wav", Audio: json.RawMessage(`{"chunkSeconds":30}`)}, transcript.Transcript{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = open(t, dir) // survives a reopen
	got, err := d.EmbeddingsFor(ctx, "spk")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[3], want) {
		t.Fatalf("stored %+v, read back %+v", want, got)
	}
	entry, _, ok, err := d.TranscriptFor(ctx, "asr")
	if err != nil || !ok || string(entry.Audio) != `{"chunkSeconds":30}` {
		t.Fatalf("entry audio %q, %v %v", entry.Audio, ok, err)
	}
	if n, err := d.PruneEmbeddings(ctx, time.Now().Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if got, _ := d.EmbeddingsFor(ctx, "spk"); len(got) != 0 {
		t.Errorf("after pruning: %+v", got)
	}
}

func TestChangeTranscriptKeepsSearchInStep(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	id, err := d.PutTranscript(ctx, Entry{Plan: "p", Source: "/talk.wav"}, transcript.Transcript{Text: "hello",
		Segments: []transcript.Segment{{Text: "hello", Start: 0, End: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	err = d.ChangeTranscript(ctx, id, func(tr transcript.Transcript) (transcript.Transcript, error) {
		tr.Speakers = []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: 1}}
		tr.Segments[0].Speaker = "Speaker 1"
		return tr, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := d.Search(ctx, "Speaker", SearchOptions{})
	if err != nil || len(hits) != 1 || len(hits[0].Speakers) != 1 {
		t.Fatalf("search by speaker: %+v, %v", hits, err)
	}
	if err := d.ChangeTranscript(ctx, id+100, func(tr transcript.Transcript) (transcript.Transcript, error) { return tr, nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown entry: %v", err)
	}
}
