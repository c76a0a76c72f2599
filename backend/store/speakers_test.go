package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// diarized is a talk of two speakers, as diarize labels it.
func diarized() transcript.Transcript {
	segs := []transcript.Segment{
		{Start: 0, End: 1, Text: "Morning all.", Speaker: "Speaker 1", Words: []transcript.Word{
			{Word: "Morning", Start: 0, End: 0.4, Speaker: "Speaker 1"}, {Word: "all.", Start: 0.5, End: 1, Speaker: "Speaker 1"}}},
		{Start: 1, End: 2, Text: "Hi there.", Speaker: "Speaker 2", Words: []transcript.Word{
			{Word: "Hi", Start: 1, End: 1.4, Speaker: "Speaker 2"}, {Word: "there.", Start: 1.5, End: 2, Speaker: "Speaker 2"}}},
		{Start: 2, End: 3, Text: "Budget first.", Speaker: "Speaker 1"},
	}
	return transcript.Transcript{Source: "/rec/standup.wav", Segments: segs, Text: transcript.FullText(segs),
		Speakers: []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: 2}, {ID: "S2", Label: "Speaker 2", Seconds: 1}}}
}

func TestSpeakersAreListedSearchedRenamedAndMerged(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	d.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	talk, err := d.PutTranscript(ctx, Entry{Plan: "talk", Source: "/rec/standup.wav"}, diarized())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := d.PutTranscript(ctx, Entry{Plan: "memo", Source: "/rec/memo.wav"},
		transcript.Transcript{Text: "buy milk", Segments: []transcript.Segment{{Start: 0, End: 1, Text: "buy milk"}}})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := d.History(ctx, 0, 0)
	if err != nil || len(hist) != 2 || hist[1].ID != talk || !reflect.DeepEqual(hist[1].Speakers, diarized().Speakers) || hist[0].Speakers != nil {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if data, _ := json.Marshal(hist[0]); strings.Contains(string(data), `"speakers"`) {
		t.Errorf("an entry without speakers lists them: %s", data)
	}

	tests := []struct {
		name     string
		op       func() error
		wantErr  error    // nil: the change is kept
		found    []string // searches that find talk
		gone     []string // searches that find nothing
		speakers []string // the labels afterwards
		words    []string // every segment's and word's speaker afterwards
	}{
		{name: "search finds speakers", op: func() error { return nil },
			found: []string{"speaker", "speaker 2", "morning speaker"}, speakers: []string{"Speaker 1", "Speaker 2"}},
		{name: "rename by label", op: func() error {
			sp, err := d.RenameSpeaker(ctx, talk, "Speaker 2", "Zoë Li")
			if err == nil && sp != (transcript.Speaker{ID: "S2", Label: "Zoë Li", Seconds: 1}) {
				t.Errorf("renamed %+v", sp)
			}
			return err
		}, found: []string{"zoe", "li hi", "speaker 1"}, gone: []string{"speaker 2"}, speakers: []string{"Speaker 1", "Zoë Li"},
			words: []string{"Speaker 1", "Speaker 1", "Speaker 1", "Zoë Li", "Zoë Li", "Zoë Li", "Speaker 1"}},
		{name: "rename by id", op: func() error { _, err := d.RenameSpeaker(ctx, talk, "S1", "Ana"); return err },
			found: []string{"ana budget"}, gone: []string{"speaker"}, speakers: []string{"Ana", "Zoë Li"},
			words: []string{"Ana", "Ana", "Ana", "Zoë Li", "Zoë Li", "Zoë Li", "Ana"}},
		{name: "an unknown speaker", op: func() error { _, err := d.RenameSpeaker(ctx, talk, "Speaker 2", "X"); return err },
			wantErr: speakers.ErrUnknownSpeaker},
		{name: "another speaker's name", op: func() error { _, err := d.RenameSpeaker(ctx, talk, "Ana", "zoë li "); return err },
			wantErr: speakers.ErrLabelTaken},
		{name: "an unknown entry", op: func() error { _, err := d.RenameSpeaker(ctx, 999, "S1", "X"); return err }, wantErr: ErrNotFound},
		{name: "not diarized", op: func() error { _, err := d.RenameSpeaker(ctx, plain, "S1", "X"); return err }, wantErr: speakers.ErrNotDiarized},
		{name: "merge", op: func() error { return d.MergeSpeakers(ctx, talk, "Ana", "S2") },
			found: []string{"ana hi"}, gone: []string{"zoe"}, speakers: []string{"Ana"},
			words: []string{"Ana", "Ana", "Ana", "Ana", "Ana", "Ana", "Ana"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _, _ := d.Transcript(ctx, talk)
			err := tt.op()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if after, _, _ := d.Transcript(ctx, talk); !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Error("a refused change moved the entry")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range tt.found {
				if hits, err := d.Search(ctx, q, SearchOptions{}); err != nil || len(hits) != 1 || hits[0].ID != talk {
					t.Errorf("search %q = %+v, %v; want entry %d", q, hits, err, talk)
				}
			}
			for _, q := range tt.gone {
				if hits, _ := d.Search(ctx, q, SearchOptions{}); len(hits) != 0 {
					t.Errorf("search %q still finds %+v", q, hits)
				}
			}
			e, tr, err := d.Transcript(ctx, talk)
			if err != nil {
				t.Fatal(err)
			}
			var labels, listed []string
			for _, s := range tr.Speakers {
				labels = append(labels, s.Label)
			}
			for _, s := range e.Speakers {
				listed = append(listed, s.Label)
			}
			if !reflect.DeepEqual(labels, tt.speakers) || !reflect.DeepEqual(listed, tt.speakers) {
				t.Errorf("speakers %q, listed %q; want %q", labels, listed, tt.speakers)
			}
			if tt.words != nil {
				var who []string
				for _, s := range tr.Segments {
					who = append(who, s.Speaker)
					for _, w := range s.Words {
						who = append(who, w.Speaker)
					}
				}
				if !reflect.DeepEqual(who, tt.words) {
					t.Errorf("speakers of segments and words %q, want %q", who, tt.words)
				}
				if tr.Text != diarized().Text || len(tr.Segments) != 3 {
					t.Errorf("text or segments changed: %+v", tr)
				}
				if hist, _ := d.History(ctx, 1, 0); hist[0].ID != talk {
					t.Error("the changed entry is not at the top of the history")
				}
			}
		})
	}
}

// A database of the first schema gets its speakers copied out of the
// transcripts and indexed for search when it is opened.
func TestMigrationIndexesSpeakersOfOlderEntries(t *testing.T) {
	dir := t.TempDir()
	raw, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(diarized())
	for _, q := range []string{"PRAGMA journal_mode = WAL", migrations[0], "PRAGMA user_version = 1"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i, tr := range []string{string(data), `{"text":"plain words","segments":[]}`, `damaged {`} {
		if _, err := raw.Exec(`INSERT INTO transcripts(plan, source, name, sha256, server, model, model_version, options, duration, text, transcript, created_at, updated_at)
			VALUES (?, '/r/a.wav', 'a.wav', '', '', 'm', '1', '{}', 3, ?, ?, ?, ?)`, i, "words of "+string(rune('a'+i)), tr, i, i); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	d := open(t, dir)
	ctx := context.Background()
	hits, err := d.Search(ctx, "speaker 2", SearchOptions{})
	if err != nil || len(hits) != 1 || hits[0].ID != 1 || len(hits[0].Speakers) != 2 || hits[0].Speakers[1].Label != "Speaker 2" {
		t.Fatalf("search after the migration: %+v, %v", hits, err)
	}
	if hits, _ := d.Search(ctx, "words", SearchOptions{}); len(hits) != 3 {
		t.Errorf("older entries' text is no longer found: %+v", hits)
	}
	if _, err := d.RenameSpeaker(ctx, 1, "Speaker 2", "Bea"); err != nil {
		t.Fatal(err)
	}
	if hits, _ := d.Search(ctx, "bea", SearchOptions{}); len(hits) != 1 {
		t.Errorf("a renamed speaker of a migrated entry is not found: %+v", hits)
	}
}

// Words an edit adds to a diarized segment are its speaker's.
func TestEditKeepsTheSpeaker(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	id, err := d.PutTranscript(ctx, Entry{Plan: "talk", Source: "/rec/standup.wav"}, diarized())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.EditSegment(ctx, id, 1, "Hi there, everyone."); err != nil {
		t.Fatal(err)
	}
	_, tr, _ := d.Transcript(ctx, id)
	for _, w := range tr.Segments[1].Words {
		if w.Speaker != "Speaker 2" {
			t.Errorf("word %+v lost its speaker", w)
		}
	}
}
