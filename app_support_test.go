package main

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

type fakeNotifier struct{ got []string }

func (f *fakeNotifier) Notify(title, msg string) error {
	f.got = append(f.got, title+": "+msg)
	return nil
}

func TestNotifications(t *testing.T) {
	q := &fakeQueue{}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	n := &fakeNotifier{}
	a.setNotifier(n)
	job := func(id int, st transcribe.Stage, err string) transcribe.Event {
		return transcribe.Event{Kind: transcribe.EventUpdated, Job: transcribe.Job{ID: transcribe.JobID(id), State: st, Error: err, Request: transcribe.Request{Path: "/a/f" + string(rune('0'+id)) + ".wav"}}}
	}
	q.send(job(1, transcribe.StageQueued, ""))
	q.send(job(2, transcribe.StageTranscribing, ""))
	q.send(job(1, transcribe.StageFailed, "cannot reach the server"))
	q.send(job(1, transcribe.StageFailed, "cannot reach the server")) // the same failure again: once
	q.send(job(2, transcribe.StageDone, ""))
	want := []string{"Transcription failed: f1.wav: Cannot reach the server.", "Transcription finished: 1 file transcribed."}
	if !reflect.DeepEqual(n.got, want) {
		t.Errorf("notifications %q, want %q", n.got, want)
	}

	// Off in the settings: nothing.
	s := a.settings.Get()
	s.Notifications = false
	if _, err := a.settings.Set(s); err != nil {
		t.Fatal(err)
	}
	q.send(job(3, transcribe.StageQueued, ""))
	q.send(job(3, transcribe.StageDone, ""))
	if len(n.got) != 2 {
		t.Errorf("notified while turned off: %q", n.got)
	}
}

func TestExportDiagnostics(t *testing.T) {
	logDir := filepath.Join(t.TempDir(), "logs")
	touch(t, logDir, "nemo-transcribe.log")
	if err := os.WriteFile(filepath.Join(logDir, "nemo-transcribe.log"), []byte("started\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, &fakeEngine{}, &fakeQueue{}, &recorder{})
	a.logDir = logDir
	out := t.TempDir()
	path, err := a.ExportDiagnostics(out)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	files := map[string]string{}
	for _, f := range z.File {
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		files[f.Name] = string(b)
	}
	if files["logs/nemo-transcribe.log"] != "started\n" || !strings.Contains(files["versions.json"], `"goos"`) || !strings.Contains(files["settings.json"], `"server": "localhost:8001"`) {
		t.Errorf("zip holds %v", files)
	}
	if _, err := a.ExportDiagnostics(""); err == nil {
		t.Error("no folder accepted")
	}
	if _, err := a.ExportDiagnostics(filepath.Join(out, "gone")); err == nil || errors.Unwrap(err) == nil {
		t.Errorf("a missing folder: %v", err)
	}
}
