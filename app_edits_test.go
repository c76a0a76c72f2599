package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// openStore is a real database in a temporary folder.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// putTranscript stores a transcript of src with one segment per text.
func putTranscript(t *testing.T, db *store.DB, src string, texts ...string) (int64, transcript.Transcript) {
	t.Helper()
	tr := transcript.Transcript{Source: src, Duration: float64(len(texts)), Model: "m", Segments: []transcript.Segment{}}
	for i, text := range texts {
		tr.Segments = append(tr.Segments, transcript.Segment{Start: float64(i) + 0.5, End: float64(i) + 1, Text: text, Words: []transcript.Word{}})
	}
	tr.Text = transcript.FullText(tr.Segments)
	id, err := db.PutTranscript(context.Background(), store.Entry{Plan: "plan " + src, Source: src, Model: "m"}, tr)
	if err != nil {
		t.Fatal(err)
	}
	return id, tr
}

func TestEditSegment(t *testing.T) {
	db := openStore(t)
	id, tr := putTranscript(t, db, "/a/talk.wav", "one two", "three")
	q := &fakeQueue{result: &transcribe.Result{HistoryID: id, Transcript: tr}}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	if err := a.EditSegment(id, 1, "x"); err == nil {
		t.Error("an edit without a history was accepted")
	}
	a.editStore, a.history = db, db
	if err := a.EditSegment(id, 1, "  three   four "); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		id   int64
		idx  int
		text string
		want string
	}{
		{id, -1, "x", "no segment -1"},
		{id, 2, "x", "no segment 3 in this transcript"},
		{id, 0, "  ", "cannot be empty"},
		{0, 0, "x", "not in it"},
		{id + 1, 0, "x", "no longer in the history"},
	} {
		if err := a.EditSegment(bad.id, bad.idx, bad.text); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("EditSegment(%d, %d, %q): %v, want %q", bad.id, bad.idx, bad.text, err, bad.want)
		}
	}
	res, err := a.JobResult(1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Transcript.Segments[1].Text != "three four" || res.Transcript.Text != "one two three four" || res.Transcript.Source != "/a/talk.wav" {
		t.Errorf("after the edit: %+v", res.Transcript)
	}
	if q.result.Transcript.Segments[1].Text != "three" {
		t.Error("the queue's own result was changed")
	}
	if hits, err := a.History("four"); err != nil || len(hits) != 1 || hits[0].ID != id {
		t.Errorf("search for the edit: %+v, %v", hits, err)
	}

	// Deleted from the history, the job still shows what it made.
	if err := a.DeleteHistory(id); err != nil {
		t.Fatal(err)
	}
	if res, err := a.JobResult(1); err != nil || res.Transcript.Segments[1].Text != "three" {
		t.Errorf("after deleting the entry: %+v, %v", res.Transcript, err)
	}
}

// main.go takes both from the engine's store by type assertion, which
// would quietly give nil if *store.DB lacked a method.
var (
	_ editStore    = (*store.DB)(nil)
	_ historyStore = (*store.DB)(nil)
)
