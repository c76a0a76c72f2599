package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// fakeEngine answers ServerStatus and records what it was asked.
type fakeEngine struct {
	status    inference.ServerStatus
	statusErr error
	// blockStatus makes ServerStatus wait for its context to end.
	blockStatus bool

	mu       sync.Mutex
	servers  []string
	deadline bool // whether ServerStatus's context had a deadline
}

func (f *fakeEngine) ServerStatus(ctx context.Context, server string) (inference.ServerStatus, error) {
	f.mu.Lock()
	f.servers = append(f.servers, server)
	_, f.deadline = ctx.Deadline()
	f.mu.Unlock()
	if f.blockStatus {
		<-ctx.Done()
		return inference.ServerStatus{}, fmt.Errorf("dialing %s: %w", server, ctx.Err())
	}
	return f.status, f.statusErr
}

// fakeQueue records the calls the app makes and lets a test send events.
type fakeQueue struct {
	mu       sync.Mutex
	added    []transcribe.Request
	calls    []string
	jobs     map[transcribe.JobID]*transcribe.Job
	addErr   error
	subs     map[int]func(transcribe.Event)
	nextSub  int
	restored bool
	result   *transcribe.Result
}

func (q *fakeQueue) call(s string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, s)
}

func (q *fakeQueue) Add(req transcribe.Request) (transcribe.JobID, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.addErr != nil {
		return 0, q.addErr
	}
	q.added = append(q.added, req)
	id := transcribe.JobID(len(q.added))
	if q.jobs == nil {
		q.jobs = map[transcribe.JobID]*transcribe.Job{}
	}
	q.jobs[id] = &transcribe.Job{ID: id, Request: req, State: transcribe.StageQueued}
	return id, nil
}
func (q *fakeQueue) Cancel(id transcribe.JobID) error { q.call(fmt.Sprint("cancel ", id)); return nil }
func (q *fakeQueue) CancelAll()                       { q.call("cancel all") }
func (q *fakeQueue) RetryWith(id transcribe.JobID, change func(*transcribe.Request)) error {
	q.mu.Lock()
	j, ok := q.jobs[id]
	q.mu.Unlock()
	if !ok {
		return transcribe.ErrUnknownJob
	}
	if change != nil {
		change(&j.Request)
	}
	q.call(fmt.Sprint("retry ", id))
	return nil
}
func (q *fakeQueue) Remove(id transcribe.JobID) error { q.call(fmt.Sprint("remove ", id)); return nil }
func (q *fakeQueue) Jobs() []transcribe.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []transcribe.Job
	for i := 1; i <= len(q.added); i++ {
		if j, ok := q.jobs[transcribe.JobID(i)]; ok {
			out = append(out, *j)
		}
	}
	return out
}
func (q *fakeQueue) Result(id transcribe.JobID) (transcribe.Result, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.result != nil {
		return *q.result, nil
	}
	return transcribe.Result{HistoryID: int64(id)}, nil
}
func (q *fakeQueue) Subscribe(fn func(transcribe.Event)) func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.subs == nil {
		q.subs = map[int]func(transcribe.Event){}
	}
	q.nextSub++
	id := q.nextSub
	q.subs[id] = fn
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.subs, id)
	}
}

// send hands ev to every subscriber, as the queue's delivery would.
func (q *fakeQueue) send(ev transcribe.Event) {
	q.mu.Lock()
	subs := slices.Collect(maps.Values(q.subs))
	q.mu.Unlock()
	for _, fn := range subs {
		fn(ev)
	}
}
func (q *fakeQueue) Restore(context.Context) ([]transcribe.JobID, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.restored = true
	return nil, nil
}

// recorder is an Emitter that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	name string
	data []any
}

func (r *recorder) emit(name string, data ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{name, data})
}

// newTestApp returns an app whose settings live in a file under t's
// temporary folder.
func newTestApp(t *testing.T, eng *fakeEngine, q *fakeQueue, rec *recorder) *App {
	t.Helper()
	s, err := config.OpenSettings(filepath.Join(t.TempDir(), config.SettingsFileName))
	if err != nil {
		t.Fatal(err)
	}
	return NewApp(eng, q, s, rec.emit)
}

// touch creates the files (and their folders) under dir.
func touch(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAddFiles(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.wav", "notes.txt", "talks/b.MP3", "talks/c.mkv", "talks/readme.md", "talks/.hidden/d.wav", "empty/x.pdf")
	p := func(n string) string { return filepath.Join(dir, n) }
	tests := []struct {
		name        string
		paths       []string
		wantAdded   []string
		wantSkipped []string // paths, in order
		wantReason  string   // a part of the first reason
	}{
		{name: "a media file is queued", paths: []string{p("a.wav")}, wantAdded: []string{p("a.wav")}},
		{name: "blank paths are ignored", paths: []string{"", " ", p("a.wav")}, wantAdded: []string{p("a.wav")}},
		{name: "another type is listed with the reason", paths: []string{p("notes.txt")}, wantSkipped: []string{p("notes.txt")}, wantReason: `".txt" is not an audio or video file type`},
		{name: "a missing file is listed", paths: []string{p("gone.wav")}, wantSkipped: []string{p("gone.wav")}, wantReason: "no such file"},
		{name: "a folder is walked, hidden entries skipped", paths: []string{p("talks")},
			wantAdded: []string{p("talks/b.MP3"), p("talks/c.mkv")}, wantSkipped: []string{p("talks")}, wantReason: "1 other files"},
		{name: "a folder without media says so", paths: []string{p("empty")}, wantSkipped: []string{p("empty")}, wantReason: "holds no audio or video"},
		{name: "nothing given, nothing done", paths: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{}
			rec := &recorder{}
			res := newTestApp(t, &fakeEngine{}, q, rec).AddFiles(tt.paths)
			switch {
			case len(tt.paths) == 0 && len(rec.events) != 0:
				t.Errorf("events %+v for nothing added", rec.events)
			case len(tt.paths) > 0 && (len(rec.events) != 1 || rec.events[0].name != EventFilesAdded || !reflect.DeepEqual(rec.events[0].data, []any{res})):
				t.Errorf("events %+v, want one %s with the result", rec.events, EventFilesAdded)
			}
			var added []string
			for _, r := range q.added {
				added = append(added, r.Path)
			}
			if !reflect.DeepEqual(added, tt.wantAdded) {
				t.Errorf("queued %v, want %v", added, tt.wantAdded)
			}
			if len(res.Added) != len(tt.wantAdded) {
				t.Errorf("result lists %d added, want %d", len(res.Added), len(tt.wantAdded))
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Path)
			}
			if !reflect.DeepEqual(skipped, tt.wantSkipped) {
				t.Errorf("skipped %+v, want %v", res.Skipped, tt.wantSkipped)
			}
			if tt.wantReason != "" && (len(res.Skipped) == 0 || !strings.Contains(strings.ToLower(res.Skipped[0].Reason), strings.ToLower(tt.wantReason))) {
				t.Errorf("reasons %+v, want one containing %q", res.Skipped, tt.wantReason)
			}
		})
	}
	t.Run("a refused job is listed with the reason", func(t *testing.T) {
		q := &fakeQueue{addErr: transcribe.ErrClosed}
		res := newTestApp(t, &fakeEngine{}, q, &recorder{}).AddFiles([]string{p("a.wav")})
		if len(res.Skipped) != 1 || res.Skipped[0].Reason != "The queue is closed." {
			t.Errorf("skipped %+v", res.Skipped)
		}
	})
}

func TestAddFilesUsesTheSavedSettings(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.wav")
	yes := true
	tests := []struct {
		name string
		set  config.Settings
		want transcribe.Request
	}{
		{name: "parakeet: no language options sent",
			set:  config.Settings{Server: " gpu:8001 ", Model: "parakeet-tdt-0.6b-v2", Timestamps: true, Concurrency: 4, ChunkSeconds: 20, Language: "de", Task: "ast", PNC: &yes, CacheDir: "/c", FFmpegPath: "/ff"},
			want: transcribe.Request{Server: "gpu:8001", Model: "parakeet-tdt-0.6b-v2", Timestamps: true, Concurrency: 4, ChunkSeconds: 20, CacheDir: "/c", FFmpegPath: "/ff"}},
		{name: "canary: language, task and punctuation sent",
			set:  config.Settings{Server: "gpu:8001", Model: "canary-1b-flash", Language: "de", Task: "ast", PNC: &yes},
			want: transcribe.Request{Server: "gpu:8001", Model: "canary-1b-flash", SourceLang: "de", TargetLang: "de", Task: "ast", PNC: &yes}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{}
			a := newTestApp(t, &fakeEngine{}, q, &recorder{})
			if _, err := a.SaveSettings(tt.set); err != nil {
				t.Fatal(err)
			}
			a.AddFiles([]string{filepath.Join(dir, "a.wav")})
			tt.want.Path = filepath.Join(dir, "a.wav")
			if len(q.added) != 1 || !reflect.DeepEqual(q.added[0], tt.want) {
				t.Errorf("queued %+v, want %+v", q.added, tt.want)
			}
		})
	}
}

func TestQueueActions(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.wav")
	q := &fakeQueue{}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	a.AddFiles([]string{filepath.Join(dir, "a.wav")})
	if err := a.CancelJob(1); err != nil {
		t.Fatal(err)
	}
	a.CancelAll()
	if err := a.RetryJob(1); err != nil {
		t.Fatal(err)
	}
	if q.jobs[1].Request.Overwrite {
		t.Error("a plain retry set Overwrite")
	}
	if err := a.RetryWithOverwrite(1); err != nil {
		t.Fatal(err)
	}
	if !q.jobs[1].Request.Overwrite {
		t.Error("RetryWithOverwrite did not set Overwrite")
	}
	if err := a.RetryJob(9); !errors.Is(err, transcribe.ErrUnknownJob) {
		t.Errorf("retrying an unknown job: %v", err)
	}
	if err := a.RemoveJob(1); err != nil {
		t.Fatal(err)
	}
	want := []string{"cancel 1", "cancel all", "retry 1", "retry 1", "remove 1"}
	if !reflect.DeepEqual(q.calls, want) {
		t.Errorf("calls %v, want %v", q.calls, want)
	}
	if jobs := a.Jobs(); len(jobs) != 1 || jobs[0].ID != 1 {
		t.Errorf("jobs %+v", jobs)
	}
	if res, err := a.JobResult(1); err != nil || res.HistoryID != 1 {
		t.Errorf("result %+v, %v", res, err)
	}
}

func TestRemoveFinished(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.wav", "b.wav")
	q := &fakeQueue{}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	a.AddFiles([]string{filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")})
	q.jobs[2].State = transcribe.StageDone
	a.RemoveFinished()
	if want := []string{"remove 2"}; !reflect.DeepEqual(q.calls, want) {
		t.Errorf("calls %v, want %v", q.calls, want)
	}
}

// TestEventsAreForwarded: every queue event reaches the UI as it is, until
// shutdown.
func TestEventsAreForwarded(t *testing.T) {
	q := &fakeQueue{}
	rec := &recorder{}
	a := newTestApp(t, &fakeEngine{}, q, rec)
	ev := transcribe.Event{Kind: transcribe.EventUpdated, Job: transcribe.Job{ID: 3, State: transcribe.StageTranscribing}}
	q.send(ev)
	failed := transcribe.Event{Kind: transcribe.EventUpdated, Job: transcribe.Job{ID: 4, State: transcribe.StageFailed, Error: "cannot reach a server at h:1: check it"}}
	q.send(failed)
	failed.Job.Error = "Cannot reach a server at h:1: check it."
	want := []event{{EventQueue, []any{ev}}, {EventQueue, []any{failed}}}
	if !reflect.DeepEqual(rec.events, want) {
		t.Errorf("events %+v, want %+v", rec.events, want)
	}
	a.shutdown(context.Background())
	if len(q.subs) != 0 {
		t.Error("still subscribed after shutdown")
	}
}

func TestPickFiles(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.wav")
	dialogErr := errors.New("no display")
	tests := []struct {
		name      string
		paths     []string
		err       error
		wantAdded int
		wantErr   bool
	}{
		{name: "chosen files are queued", paths: []string{filepath.Join(dir, "a.wav")}, wantAdded: 1},
		{name: "cancelled", paths: nil},
		{name: "dialog error is reported", err: dialogErr, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{}
			a := newTestApp(t, &fakeEngine{}, q, &recorder{})
			var opts runtime.OpenDialogOptions
			a.openFiles = func(o runtime.OpenDialogOptions) ([]string, error) { opts = o; return tt.paths, tt.err }
			res, err := a.PickFiles()
			if (err != nil) != tt.wantErr || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if len(res.Added) != tt.wantAdded || len(q.added) != tt.wantAdded {
				t.Errorf("added %v, queued %d, want %d", res.Added, len(q.added), tt.wantAdded)
			}
			if len(opts.Filters) < 2 || !strings.Contains(opts.Filters[0].Pattern, "*.wav;*.WAV") || opts.Filters[len(opts.Filters)-1].Pattern != "*" {
				t.Errorf("filters %+v: want media first and all files last", opts.Filters)
			}
		})
	}
	t.Run("before startup", func(t *testing.T) {
		if _, err := newTestApp(t, &fakeEngine{}, &fakeQueue{}, &recorder{}).PickFiles(); err == nil {
			t.Error("no error without a window")
		}
	})
}

func TestFFmpegStatus(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "ffmpeg")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := &App{}
	if got := a.FFmpegStatus(fake); !got.Found || got.Path != fake {
		t.Errorf("an executable: %+v", got)
	}
	if got := a.FFmpegStatus(filepath.Join(dir, "nope")); got.Found {
		t.Errorf("a missing file: %+v", got)
	}
	t.Setenv("NEMO_TRANSCRIBE_FFMPEG", "off")
	if got := a.FFmpegStatus(""); got.Found || got.Path != "off" {
		t.Errorf("turned off: %+v", got)
	}
	t.Setenv("NEMO_TRANSCRIBE_FFMPEG", fake)
	if got := a.FFmpegStatus(" "); !got.Found || got.Path != fake {
		t.Errorf("from the environment: %+v", got)
	}
}

func TestServerStatus(t *testing.T) {
	status := inference.ServerStatus{
		Address: "gpu:8001", Live: true, Ready: true, Name: "triton", Version: "2.50.0",
		Models: []inference.ModelStatus{{Name: "dtmf", Ready: true, State: "READY", Versions: []string{"1"}}},
	}
	refused := errors.New("connection refused")
	tests := []struct {
		name       string
		server     string
		status     inference.ServerStatus
		err        error
		wantServer string
		wantStatus inference.ServerStatus
		wantIs     error
	}{
		{name: "status passes through", server: "gpu:8001", status: status, wantServer: "gpu:8001", wantStatus: status},
		{name: "blank server asks the default", server: "", status: status, wantServer: config.DefaultServer, wantStatus: status},
		{name: "error passes through", server: "gpu:8001", err: refused, wantServer: "gpu:8001", wantIs: refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{status: tt.status, statusErr: tt.err}
			got, err := newTestApp(t, eng, &fakeQueue{}, &recorder{}).ServerStatus(tt.server)
			if err != tt.wantIs {
				t.Errorf("error %v, want %v", err, tt.wantIs)
			}
			if !reflect.DeepEqual(got, tt.wantStatus) {
				t.Errorf("status %+v, want %+v", got, tt.wantStatus)
			}
			if len(eng.servers) != 1 || eng.servers[0] != tt.wantServer {
				t.Errorf("asked %v, want [%s]", eng.servers, tt.wantServer)
			}
			if !eng.deadline {
				t.Error("the engine's context had no deadline")
			}
		})
	}
}

func TestServerStatusTimeoutIsExplained(t *testing.T) {
	eng := &fakeEngine{blockStatus: true}
	a := newTestApp(t, eng, &fakeQueue{}, &recorder{})
	a.statusTimeout = 20 * time.Millisecond
	_, err := a.ServerStatus("gpu:8001")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want one wrapping context.DeadlineExceeded", err)
	}
	want := "The server at gpu:8001 did not answer within 20ms: dialing gpu:8001: context deadline exceeded."
	if got := formatError(err).(rejection).Message; got != want {
		t.Errorf("formatted %q, want %q", got, want)
	}
}

func TestFormatError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want any
	}{
		{"nil", nil, nil},
		{"plain error becomes a sentence", errors.New("transcribe: engine under construction"), "Transcribe: engine under construction."},
		{"existing punctuation is kept", errors.New("Is the server running?"), "Is the server running?"},
		{"whitespace and newlines are folded", errors.New("  open a.wav:\n\tno such file  "), "Open a.wav: no such file."},
		{"an apperr message keeps its context", fmt.Errorf("a.wav: %w", apperr.New(apperr.CodeFile, errors.New("EBUSY"), "the file is in use by another program")), "a.wav: the file is in use by another program."},
		{"cancellation reads as such", fmt.Errorf("infer: %w", context.Canceled), "Cancelled."},
		{"empty message", errors.New(""), "Something went wrong."},
		{"non-ASCII first letter", errors.New("école"), "École."},
		{"a leading path is left alone", errors.New("/home/u/take 1.wav: no such file"), "/home/u/take 1.wav: no such file."},
		{"a leading file name is left alone", errors.New("take1.WAV is not a WAV file"), "take1.WAV is not a WAV file."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := formatError(tt.err)
			if r, ok := got.(rejection); ok {
				got = r.Message
			}
			if got != tt.want {
				t.Errorf("formatError = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// A rejection carries the sentence's key, parameters and context, so the
// UI can word it in its language, beside the English and the code.
func TestFormatErrorCarriesTheKey(t *testing.T) {
	inner := apperr.New(apperr.CodeUnreachable, errors.New("ECONNREFUSED"), "cannot reach a Triton server at %s: check the address and that the server is running (Triton's gRPC port is usually 8001)", "gpu:8001")
	got, ok := formatError(fmt.Errorf("sample.wav: %w", inner)).(rejection)
	if !ok {
		t.Fatalf("formatError gave %T, want a rejection", got)
	}
	if got.Code != string(apperr.CodeUnreachable) || got.Text.Key == "" || got.Text.Before != "sample.wav: " ||
		len(got.Text.Params) != 1 || got.Text.Params[0].Text != "gpu:8001" || !strings.HasPrefix(got.Message, "sample.wav: cannot reach") {
		t.Errorf("rejection %+v, want code, key, the address as parameter and the file name in front", got)
	}
	b, err := json.Marshal(got)
	if err != nil || !strings.Contains(string(b), `"key":"`+got.Text.Key+`"`) || !strings.Contains(string(b), `"message":"sample.wav: cannot reach`) {
		t.Errorf("as JSON: %s (%v)", b, err)
	}
}

func TestFilesToOpen(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		args []string
		want []string
	}{
		{"none", "", nil, nil},
		{"relative to this process's folder", "", []string{"talk.wav"}, []string{filepath.Join(wd, "talk.wav")}},
		{"relative to the launch's folder", "/home/ann/rec", []string{"talk.wav", "../b.mp3"}, []string{"/home/ann/rec/talk.wav", "/home/ann/b.mp3"}},
		{"absolute kept", "/elsewhere", []string{"/data/a b.mp3"}, []string{"/data/a b.mp3"}},
		{"options and blanks skipped", "", []string{"-loglevel", "", "talk.wav"}, []string{filepath.Join(wd, "talk.wav")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := filesToOpen(tc.dir, tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("filesToOpen(%q, %q) = %q, want %q", tc.dir, tc.args, got, tc.want)
			}
		})
	}
}

func TestSecondInstanceQueuesItsFilesHere(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.wav", "b.flac")
	q := &fakeQueue{}
	app := newTestApp(t, &fakeEngine{}, q, &recorder{})
	raised := 0
	app.raise = func() { raised++ }
	app.secondInstance(options.SecondInstanceData{Args: []string{"a.wav", filepath.Join(dir, "b.flac")}, WorkingDirectory: dir})
	var added []string
	for _, r := range q.added {
		added = append(added, r.Path)
	}
	if want := []string{filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.flac")}; !slices.Equal(added, want) {
		t.Errorf("queued %q, want %q", added, want)
	}
	if raised != 1 {
		t.Errorf("the window was raised %d times, want once", raised)
	}
	app.secondInstance(options.SecondInstanceData{WorkingDirectory: dir}) // a plain second launch
	if len(q.added) != 2 || raised != 2 {
		t.Errorf("a launch without files queued %d files, raised %d times", len(q.added)-2, raised)
	}
}

func TestInstanceIDIsPerDataFolder(t *testing.T) {
	a, b := instanceID("/home/ann/.local/share/nemo-transcribe"), instanceID("/tmp/profile/.local/share/nemo-transcribe")
	if a == b || a != instanceID("/home/ann/.local/share/nemo-transcribe/") {
		t.Errorf("ids %q and %q: want one per folder, the same for the same folder", a, b)
	}
	// Wails turns the id into a D-Bus name: letters, digits, dashes only.
	if strings.Trim(a, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		t.Errorf("id %q has other characters", a)
	}
}
