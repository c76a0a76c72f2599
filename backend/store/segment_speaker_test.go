package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
)

func TestSegmentSpeakerAndRestoreAreKeptAndSearched(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	id, err := d.PutTranscript(ctx, Entry{Plan: "talk", Source: "/rec/standup.wav"}, diarized())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.RenameSpeaker(ctx, id, "Speaker 2", "Zoë"); err != nil {
		t.Fatal(err)
	}
	_, before, err := d.Transcript(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	searchFinds := func(q string) bool {
		hits, err := d.Search(ctx, q, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(hits) == 1 && hits[0].ID == id
	}

	// Segment 2 goes to Zoë; Speaker 1 still has segment 1.
	got, err := d.SetSegmentSpeaker(ctx, id, 2, "Zoë")
	if err != nil {
		t.Fatal(err)
	}
	_, stored, err := d.Transcript(ctx, id)
	if err != nil || !reflect.DeepEqual(stored, got) {
		t.Fatalf("stored %+v, returned %+v, %v", stored, got, err)
	}
	if stored.Segments[2].Speaker != "Zoë" || len(stored.Speakers) != 2 || stored.Speakers[1].Seconds != 2 {
		t.Errorf("after the change %+v", stored)
	}
	// The last segment of Speaker 1 going to Zoë leaves one speaker: the
	// list, the history's columns and search follow.
	if _, err := d.SetSegmentSpeaker(ctx, id, 0, "S2"); err != nil {
		t.Fatal(err)
	}
	hist, err := d.History(ctx, 0, 0)
	if err != nil || len(hist) != 1 || len(hist[0].Speakers) != 1 || hist[0].Speakers[0].Label != "Zoë" {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if searchFinds(`"speaker 1"`) {
		t.Error("search still finds the speaker who no longer speaks")
	}

	// Undo back to before both changes.
	undone, err := d.RestoreSpeakers(ctx, id, speakers.Take(before))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(undone, before) {
		t.Errorf("undone %+v\nwant %+v", undone, before)
	}
	if !searchFinds(`"speaker 1"`) || !searchFinds("zoë") {
		t.Error("search does not find both speakers again")
	}

	tests := []struct {
		name    string
		op      func() error
		wantErr error
	}{
		{"an unknown entry", func() error { _, err := d.SetSegmentSpeaker(ctx, 999, 0, "S1"); return err }, ErrNotFound},
		{"no such segment", func() error { _, err := d.SetSegmentSpeaker(ctx, id, 3, "S1"); return err }, speakers.ErrNoSegment},
		{"an unknown speaker", func() error { _, err := d.SetSegmentSpeaker(ctx, id, 0, "Nobody"); return err }, speakers.ErrUnknownSpeaker},
		{"a stale snapshot", func() error {
			_, err := d.RestoreSpeakers(ctx, id, speakers.Snapshot{Speakers: before.Speakers, Segments: []string{"Speaker 1"}})
			return err
		}, speakers.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			_, now, err := d.Transcript(ctx, id)
			if err != nil || !reflect.DeepEqual(now, before) {
				t.Errorf("a refused change altered the entry: %+v, %v", now, err)
			}
		})
	}

	// Unchanged: the same speaker again returns the stored transcript.
	same, err := d.SetSegmentSpeaker(ctx, id, 1, "Zoë")
	if err != nil || !reflect.DeepEqual(same, before) {
		t.Errorf("no-op change: %+v, %v", same, err)
	}
}
