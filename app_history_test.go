package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// TestHistory runs on a real database file.
func TestHistory(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	put := func(plan, src, text string) int64 {
		id, err := db.PutTranscript(ctx, store.Entry{Plan: plan, Source: src, Model: "m"}, transcript.Transcript{
			Source: src, Text: text, Segments: []transcript.Segment{{Start: 0, End: 1, Text: text}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := newTestApp(t, &fakeEngine{}, &fakeQueue{}, &recorder{})
	if _, err := a.History(""); err == nil {
		t.Error("no error without a database")
	}
	a.history, a.editStore = db, db
	talk := put("p1", "/a/talk.wav", "the quarterly numbers look fine")
	put("p2", "/a/memo.wav", "buy milk")

	all, err := a.History("  ")
	if err != nil || len(all) != 2 {
		t.Fatalf("history %+v, %v", all, err)
	}
	hits, err := a.History("quarterly")
	if err != nil || len(hits) != 1 || hits[0].ID != talk || !strings.Contains(hits[0].Snippet, "«quarterly»") {
		t.Fatalf("search %+v, %v", hits, err)
	}

	if err := a.EditSegment(talk, 0, "the numbers look great"); err != nil {
		t.Fatal(err)
	}
	tr, err := a.HistoryTranscript(talk)
	if err != nil || tr.Segments[0].Text != "the numbers look great" || tr.Text != "the numbers look great" {
		t.Errorf("reopened %+v, %v", tr, err)
	}
	// Search follows the edit.
	if hits, _ := a.History("great"); len(hits) != 1 || hits[0].ID != talk {
		t.Errorf("search for the edit: %+v", hits)
	}
	if hits, _ := a.History("quarterly"); len(hits) != 0 {
		t.Errorf("search still finds the replaced text: %+v", hits)
	}

	if err := a.DeleteHistory(talk); err != nil {
		t.Fatal(err)
	}
	if all, _ := a.History(""); len(all) != 1 || all[0].Source != "/a/memo.wav" {
		t.Errorf("after delete: %+v", all)
	}
	if _, err := a.HistoryTranscript(talk); err == nil {
		t.Error("a deleted transcript opened")
	}
}
