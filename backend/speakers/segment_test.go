package speakers

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

func TestReassign(t *testing.T) {
	tests := []struct {
		name     string
		index    int
		to       string
		wantErr  error
		speakers []transcript.Speaker
		who      []string
	}{
		{name: "to another speaker, words follow", index: 2, to: "Speaker 2",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 1), sp("S2", "Speaker 2", 2), sp("S3", "Speaker 3", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "Speaker 2", "  Speaker 2", "Speaker 2", "  Speaker 2", "  Speaker 2", "  Speaker 2", "Speaker 3"}},
		{name: "by id; the last segment of a speaker takes it off the list", index: 3, to: "s1",
			speakers: []transcript.Speaker{sp("S1", "Speaker 1", 3), sp("S2", "Speaker 2", 1)},
			who:      []string{"Speaker 1", "  Speaker 1", "Speaker 2", "  Speaker 2", "Speaker 1", "  Speaker 1", "  Speaker 1", "  Speaker 1", "Speaker 1"}},
		{name: "to its own speaker: nothing changes", index: 1, to: "Speaker 2", speakers: meeting().Speakers, who: who(meeting())},
		{name: "unknown speaker", index: 1, to: "Speaker 7", wantErr: ErrUnknownSpeaker},
		{name: "no such segment", index: 4, to: "Speaker 1", wantErr: ErrNoSegment},
		{name: "negative segment", index: -1, to: "Speaker 1", wantErr: ErrNoSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := meeting()
			got, err := Reassign(in, tt.index, tt.to)
			if !reflect.DeepEqual(in, meeting()) {
				t.Fatal("Reassign modified its input")
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Speakers, tt.speakers) {
				t.Errorf("speakers %+v, want %+v", got.Speakers, tt.speakers)
			}
			if w := who(got); !reflect.DeepEqual(w, tt.who) {
				t.Errorf("who %q, want %q", w, tt.who)
			}
		})
	}
	if _, err := Reassign(transcript.Transcript{Segments: meeting().Segments}, 0, "Speaker 1"); !errors.Is(err, ErrNotDiarized) {
		t.Errorf("not diarized: err = %v", err)
	}
}

// Every edit is undone by restoring the snapshot taken before it, and
// redone by restoring the one taken after.
func TestSnapshotUndoesEveryEdit(t *testing.T) {
	edits := []struct {
		name string
		do   func(transcript.Transcript) (transcript.Transcript, error)
	}{
		{"rename", func(t transcript.Transcript) (transcript.Transcript, error) { return Rename(t, "Speaker 2", "Ana") }},
		{"merge", func(t transcript.Transcript) (transcript.Transcript, error) {
			return Merge(t, "Speaker 1", "Speaker 3")
		}},
		{"reassign emptying a speaker", func(t transcript.Transcript) (transcript.Transcript, error) { return Reassign(t, 1, "Speaker 3") }},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			before := meeting()
			after, err := e.do(before)
			if err != nil {
				t.Fatal(err)
			}
			undone, err := Restore(after, Take(before))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(undone, before) {
				t.Errorf("undone %+v\nwant %+v", undone, before)
			}
			redone, err := Restore(undone, Take(after))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(redone, after) {
				t.Errorf("redone %+v\nwant %+v", redone, after)
			}
		})
	}
}

func TestRestoreRefusesStaleSnapshots(t *testing.T) {
	good := Take(meeting())
	tests := []struct {
		name string
		snap func() Snapshot
	}{
		{"fewer segments", func() Snapshot { s := Take(meeting()); s.Segments = s.Segments[:3]; return s }},
		{"no speakers", func() Snapshot { s := Take(meeting()); s.Speakers = nil; return s }},
		{"a label not listed", func() Snapshot { s := Take(meeting()); s.Segments[0] = "Nobody"; return s }},
		{"an empty label", func() Snapshot { s := Take(meeting()); s.Speakers[0].Label = " "; return s }},
		{"no id", func() Snapshot { s := Take(meeting()); s.Speakers[0].ID = ""; return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := meeting()
			got, err := Restore(in, tt.snap())
			if !errors.Is(err, ErrStale) {
				t.Fatalf("err = %v, want ErrStale", err)
			}
			if !reflect.DeepEqual(got, meeting()) || !reflect.DeepEqual(Take(meeting()), good) {
				t.Error("a refused restore changed the transcript")
			}
		})
	}
}
