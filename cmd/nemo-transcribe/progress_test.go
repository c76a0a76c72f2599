package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

func job(id transcribe.JobID, path string, state transcribe.Stage, frac, seconds float64) transcribe.Job {
	return transcribe.Job{ID: id, Request: transcribe.Request{Path: path}, State: state,
		Progress: transcribe.Progress{Stage: state, Fraction: frac, AudioSeconds: seconds, ChunksDone: 3, ChunksTotal: 10, RealtimeFactor: 41.25, ETASeconds: 75}}
}

func TestReporterPrintsOutcomesInInputOrder(t *testing.T) {
	var out, errb bytes.Buffer
	r := newReporter(quiet{}, &out, &errb)
	r.expect(1, "a.wav")
	r.expect(2, "b.wav")
	r.expect(3, "c.wav")
	c := job(3, "c.wav", transcribe.StageDone, 1, 1)
	c.Outputs = []string{"out/c.json"}
	r.event(transcribe.Event{Kind: transcribe.EventUpdated, Job: c})
	b := job(2, "b.wav", transcribe.StageFailed, 0.2, 1)
	b.Error = "the file is\n empty"
	r.event(transcribe.Event{Kind: transcribe.EventUpdated, Job: b})
	if out.Len()+errb.Len() != 0 {
		t.Fatalf("printed before a.wav ended: %q %q", out.String(), errb.String())
	}
	a := job(1, "a.wav", transcribe.StageTranscribing, 0.5, 1)
	r.event(transcribe.Event{Kind: transcribe.EventUpdated, Job: a}) // not an end
	a.State, a.Outputs = transcribe.StageDone, []string{"out/a.json", "out/a.srt"}
	r.event(transcribe.Event{Kind: transcribe.EventUpdated, Job: a})
	if out.String() != "a.wav -> out/a.json, out/a.srt\nc.wav -> out/c.json\n" || errb.String() != "nemo-transcribe: b.wav: the file is empty\n" || r.failed != 1 {
		t.Errorf("stdout %q stderr %q failed %d", out.String(), errb.String(), r.failed)
	}
	// finish reports what never ended as failed.
	r.expect(4, "d.wav")
	r.finish([]transcribe.Job{job(4, "d.wav", transcribe.StageQueued, 0, 0)})
	if !strings.Contains(errb.String(), "d.wav: did not finish") || r.failed != 2 {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestPlainProgressLines(t *testing.T) {
	var w bytes.Buffer
	p := &plain{w: &w, last: map[transcribe.JobID]plainState{}, now: func() time.Time { return time.Date(2026, 1, 1, 9, 5, 7, 0, time.UTC) }}
	p.update(job(1, "x/a.wav", transcribe.StageTranscribing, 0.31, 60))
	p.update(job(1, "x/a.wav", transcribe.StageTranscribing, 0.35, 60)) // same tenth: nothing
	p.update(job(1, "x/a.wav", transcribe.StageTranscribing, 0.41, 60))
	p.update(job(1, "x/a.wav", transcribe.StageDone, 1, 60)) // the result line says it
	want := "09:05:07 x/a.wav:  31% transcribing 3/10 chunks 41.2x ETA 1:15\n" +
		"09:05:07 x/a.wav:  41% transcribing 3/10 chunks 41.2x ETA 1:15\n"
	if w.String() != want {
		t.Errorf("got\n%s\nwant\n%s", w.String(), want)
	}
}

func TestOverallFractionWeighsByLength(t *testing.T) {
	jobs := map[transcribe.JobID]transcribe.Job{
		1: job(1, "long", transcribe.StageTranscribing, 0.5, 3600),
		2: job(2, "short", transcribe.StageDone, 1, 10),
		3: job(3, "failed", transcribe.StageFailed, 0.1, 0), // counts as finished, weighs the mean
	}
	got := overallFraction([]transcribe.JobID{1, 2, 3}, jobs)
	want := (0.5*3600 + 10 + 1805) / (3600 + 10 + 1805.0)
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("overall %v, want %v", got, want)
	}
	if overallFraction(nil, nil) != 0 {
		t.Error("empty run")
	}
}

func TestBarLineFitsTheTerminal(t *testing.T) {
	line := barLine(fit("a-very-long-file-name.wav", 10), 0.5, "transcribing 3/10 chunks", 40)
	if n := len([]rune(line)); n != 39 || !strings.HasPrefix(line, "a-very-lo… [############............]") {
		t.Errorf("%q (%d runes)", line, n)
	}
	if got := fit("ab", 4); got != "ab  " {
		t.Errorf("fit pads: %q", got)
	}
	if shortDuration(59.2) != "1:00" || shortDuration(3725) != "1:02:05" {
		t.Errorf("durations %s %s", shortDuration(59.2), shortDuration(3725))
	}
}
