package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// The Speakers choice reaches every file added, and only the choice is
// saved by SetSpeakers.
func TestSpeakersChoiceReachesTheRequest(t *testing.T) {
	tests := []struct {
		choice  string
		want    *transcribe.SpeakerOptions
		wantErr string
	}{
		{choice: "", want: nil},
		{choice: "auto", want: &transcribe.SpeakerOptions{}},
		{choice: "3", want: &transcribe.SpeakerOptions{Count: 3}},
		{choice: "1", wantErr: "speakers must be off, auto or a number from 2 to 32"},
	}
	for _, tt := range tests {
		t.Run(tt.choice, func(t *testing.T) {
			q := &fakeQueue{}
			a := newTestApp(t, &fakeEngine{}, q, &recorder{})
			s := a.settings.Get()
			s.Server = "gpu:9001"
			if _, err := a.settings.Set(s); err != nil {
				t.Fatal(err)
			}
			saved, err := a.SetSpeakers(tt.choice)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || saved.Speakers != tt.choice || saved.Server != "gpu:9001" {
				t.Fatalf("saved %+v, %v", saved, err)
			}
			dir := t.TempDir()
			touch(t, dir, "a.wav", "b.mp3")
			a.AddFiles([]string{dir})
			if len(q.added) != 2 {
				t.Fatalf("queued %+v", q.added)
			}
			for _, r := range q.added {
				if !reflect.DeepEqual(r.Speakers, tt.want) {
					t.Errorf("%s: speakers %+v, want %+v", r.Path, r.Speakers, tt.want)
				}
			}
		})
	}
}

func diarizedTalk() transcript.Transcript {
	seg := func(start float64, text, who string) transcript.Segment {
		return transcript.Segment{Start: start, End: start + 1, Text: text, Speaker: who,
			Words: []transcript.Word{{Word: text, Start: start, End: start + 1, Speaker: who}}}
	}
	segs := []transcript.Segment{seg(0, "one", "Speaker 1"), seg(1, "two", "Speaker 2"), seg(2, "three", "Speaker 3"), seg(3, "four", "Speaker 2")}
	return transcript.Transcript{Source: "/a/talk.wav", Duration: 4, Model: "dtmf", Segments: segs, Text: transcript.FullText(segs),
		Speakers: []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: 1}, {ID: "S2", Label: "Speaker 2", Seconds: 2}, {ID: "S3", Label: "Speaker 3", Seconds: 1}}}
}

// Rename, reassign, merge, undo and redo through the bindings against a
// real database: each returns what the history keeps, the job's result,
// search and an export follow, and bad input is one sentence.
func TestSpeakerEditsAreKeptSearchedAndExported(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	id, err := db.PutTranscript(ctx, store.Entry{Plan: "p", Source: "/a/talk.wav", Model: "dtmf"}, diarizedTalk())
	if err != nil {
		t.Fatal(err)
	}
	q := &fakeQueue{result: &transcribe.Result{HistoryID: id, Transcript: diarizedTalk()}}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	if _, err := a.RenameSpeaker(id, "Speaker 2", "Ana"); err == nil || !strings.Contains(err.Error(), "not in it") {
		t.Errorf("without a history: %v", err)
	}
	a.editStore, a.history = db, db

	labels := func(tr transcript.Transcript) (list, segs []string) {
		for _, s := range tr.Speakers {
			list = append(list, s.Label)
		}
		for _, s := range tr.Segments {
			segs = append(segs, s.Speaker)
		}
		return list, segs
	}
	before := speakers.Take(diarizedTalk())
	steps := []struct {
		name       string
		do         func() (transcript.Transcript, error)
		list, segs []string
	}{
		{"rename", func() (transcript.Transcript, error) { return a.RenameSpeaker(id, "Speaker 2", "  Ana  Lima ") },
			[]string{"Speaker 1", "Ana Lima", "Speaker 3"}, []string{"Speaker 1", "Ana Lima", "Speaker 3", "Ana Lima"}},
		{"one segment to another speaker", func() (transcript.Transcript, error) { return a.SetSegmentSpeaker(id, 0, "Ana Lima") },
			[]string{"Ana Lima", "Speaker 3"}, []string{"Ana Lima", "Ana Lima", "Speaker 3", "Ana Lima"}},
		{"undo both", func() (transcript.Transcript, error) { return a.RestoreSpeakers(id, before) },
			[]string{"Speaker 1", "Speaker 2", "Speaker 3"}, []string{"Speaker 1", "Speaker 2", "Speaker 3", "Speaker 2"}},
		{"merge", func() (transcript.Transcript, error) { return a.MergeSpeakers(id, "S1", "Speaker 3") },
			[]string{"Speaker 1", "Speaker 2"}, []string{"Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"}},
		{"rename after merge", func() (transcript.Transcript, error) { return a.RenameSpeaker(id, "S2", "Bea") },
			[]string{"Speaker 1", "Bea"}, []string{"Speaker 1", "Bea", "Speaker 1", "Bea"}},
	}
	for _, st := range steps {
		got, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		list, segs := labels(got)
		if !reflect.DeepEqual(list, st.list) || !reflect.DeepEqual(segs, st.segs) {
			t.Errorf("%s: speakers %q, segments %q; want %q, %q", st.name, list, segs, st.list, st.segs)
		}
		if _, kept, err := db.Transcript(ctx, id); err != nil || !reflect.DeepEqual(kept.Speakers, got.Speakers) {
			t.Errorf("%s: the history keeps %+v, %v", st.name, kept.Speakers, err)
		}
	}

	// The job's result shows the names the history keeps.
	res, err := a.JobResult(1)
	if err != nil || res.Transcript.Speakers[1].Label != "Bea" || res.Transcript.Segments[3].Speaker != "Bea" {
		t.Errorf("job result %+v, %v", res.Transcript, err)
	}
	hits, err := a.History("bea")
	if err != nil || len(hits) != 1 || hits[0].ID != id {
		t.Errorf("search for the new name: %+v, %v", hits, err)
	}
	dir := t.TempDir()
	if _, err := a.ExportHistory([]int64{id}, []string{"srt"}, dir, false); err != nil {
		t.Fatal(err)
	}
	srt, err := os.ReadFile(filepath.Join(dir, "talk.srt"))
	if err != nil || !strings.Contains(string(srt), "Bea") || strings.Contains(string(srt), "Speaker 2") {
		t.Errorf("the SRT does not carry the new name: %q, %v", srt, err)
	}

	bad := []struct {
		name string
		do   func() (transcript.Transcript, error)
		want string
	}{
		{"a taken name", func() (transcript.Transcript, error) { return a.RenameSpeaker(id, "Bea", "speaker 1") }, "another speaker has that name"},
		{"an empty name", func() (transcript.Transcript, error) { return a.RenameSpeaker(id, "Bea", " ") }, "cannot be empty"},
		{"an unknown speaker", func() (transcript.Transcript, error) { return a.SetSegmentSpeaker(id, 0, "Zed") }, `no such speaker "Zed"`},
		{"no such segment", func() (transcript.Transcript, error) { return a.SetSegmentSpeaker(id, 9, "Bea") }, "not a segment 10"},
		{"merged into itself", func() (transcript.Transcript, error) { return a.MergeSpeakers(id, "Bea", "S2") }, "the same speaker"},
		{"a stale undo", func() (transcript.Transcript, error) {
			return a.RestoreSpeakers(id, speakers.Snapshot{Speakers: before.Speakers, Segments: before.Segments[:2]})
		}, "reopen the transcript"},
		{"a deleted entry", func() (transcript.Transcript, error) { return a.RenameSpeaker(id+1, "Bea", "X") }, "no longer in the history"},
	}
	for _, b := range bad {
		if _, err := b.do(); err == nil || !strings.Contains(strings.ToLower(sentence(err.Error())), strings.ToLower(b.want)) {
			t.Errorf("%s: %v, want %q", b.name, err, b.want)
		}
	}
}

// fakeDiarizer is an engine that finds speakers: it records the request,
// reports two steps, and answers with do.
type fakeDiarizer struct {
	fakeEngine
	started chan transcribe.DiarizeRequest
	do      func(ctx context.Context) (transcribe.Result, error)
}

func (f *fakeDiarizer) Diarize(ctx context.Context, req transcribe.DiarizeRequest, progress func(transcribe.Progress)) (transcribe.Result, error) {
	progress(transcribe.Progress{Stage: transcribe.StageTranscribing, Fraction: 0.5})
	f.started <- req
	res, err := f.do(ctx)
	if err == nil {
		progress(transcribe.Progress{Stage: transcribe.StageDone, Fraction: 1})
	}
	return res, err
}

func TestFindSpeakers(t *testing.T) {
	db := openStore(t)
	id, plain := putTranscript(t, db, "/a/talk.wav", "one", "two")
	found := diarizedTalk()
	tests := []struct {
		name    string
		choice  string
		do      func(ctx context.Context) (transcribe.Result, error)
		cancel  bool
		want    *transcribe.SpeakerOptions
		wantErr string
	}{
		{name: "auto", choice: "auto", want: &transcribe.SpeakerOptions{},
			do: func(context.Context) (transcribe.Result, error) {
				return transcribe.Result{Transcript: found, HistoryID: id, Diarization: transcribe.DiarizationDone}, nil
			}},
		{name: "a count", choice: "3", want: &transcribe.SpeakerOptions{Count: 3},
			do: func(context.Context) (transcribe.Result, error) {
				return transcribe.Result{Transcript: found, HistoryID: id, Diarization: transcribe.DiarizationDone}, nil
			}},
		{name: "the speaker model fails", choice: "", want: &transcribe.SpeakerOptions{},
			do: func(context.Context) (transcribe.Result, error) {
				return transcribe.Result{Transcript: plain, Diarization: transcribe.DiarizationFailed, DiarizationError: "The speaker model voices failed: out of memory."},
					errors.New("voices: out of memory")
			}, wantErr: "The speakers could not be found: The speaker model voices failed: out of memory."},
		{name: "cancelled", choice: "auto", want: &transcribe.SpeakerOptions{}, cancel: true,
			do: func(ctx context.Context) (transcribe.Result, error) {
				<-ctx.Done()
				return transcribe.Result{Transcript: plain}, fmt.Errorf("talk.wav: %w", ctx.Err())
			}, wantErr: "Finding speakers was cancelled; the transcript is as it was."},
		{name: "a bad count", choice: "1", wantErr: "must be auto or from 2 to 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeDiarizer{started: make(chan transcribe.DiarizeRequest, 1), do: tt.do}
			rec := &recorder{}
			s, err := config.OpenSettings("")
			if err != nil {
				t.Fatal(err)
			}
			a := NewApp(eng, &fakeQueue{}, s, rec.emit)
			a.editStore = db
			type answer struct {
				t   transcript.Transcript
				err error
			}
			done := make(chan answer, 1)
			go func() {
				tr, err := a.FindSpeakers(id, tt.choice)
				done <- answer{tr, err}
			}()
			if tt.want != nil {
				select {
				case req := <-eng.started:
					if req.HistoryID != id || req.Server != config.DefaultServer || !reflect.DeepEqual(&req.Speakers, tt.want) {
						t.Errorf("asked %+v", req)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("Diarize was not called")
				}
				if tt.cancel {
					if _, err := a.FindSpeakers(id, "auto"); err == nil || !strings.Contains(err.Error(), "already") {
						t.Errorf("a second run at once: %v", err)
					}
					a.CancelFindSpeakers(id)
				}
			}
			var got answer
			select {
			case got = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("FindSpeakers did not return")
			}
			if tt.wantErr != "" {
				if got.err == nil || sentence(got.err.Error()) != tt.wantErr && !strings.Contains(got.err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", got.err, tt.wantErr)
				}
				return
			}
			if got.err != nil || !reflect.DeepEqual(got.t.Speakers, found.Speakers) || got.t.Source != "/a/talk.wav" {
				t.Fatalf("found %+v, %v", got.t, got.err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.events) != 2 || rec.events[0].name != EventSpeakersProgress ||
				rec.events[1].data[0].(SpeakersProgress) != (SpeakersProgress{HistoryID: id, Progress: transcribe.Progress{Stage: transcribe.StageDone, Fraction: 1}}) {
				t.Errorf("events %+v", rec.events)
			}
		})
	}
}
