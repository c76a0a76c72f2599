package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// step is one progress report the fake engine makes, after advancing the
// fake clock by wait.
type step struct {
	wait time.Duration
	p    transcribe.Progress
}

// fakeEngine replays steps through the progress callback, then returns
// result/err. It records the requests and contexts it was given.
type fakeEngine struct {
	clock  *fakeClock
	steps  []step
	result transcribe.Result
	err    error

	status    inference.ServerStatus
	statusErr error
	// blockStatus makes ServerStatus wait for its context to end.
	blockStatus bool

	mu       sync.Mutex
	requests []transcribe.Request
	servers  []string
	deadline bool // whether ServerStatus's context had a deadline
}

func (f *fakeEngine) Transcribe(ctx context.Context, req transcribe.Request, progress func(transcribe.Progress)) (transcribe.Result, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	for _, s := range f.steps {
		f.clock.advance(s.wait)
		progress(s.p)
	}
	return f.result, f.err
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

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
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

func (r *recorder) progress(t *testing.T) []transcribe.Progress {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []transcribe.Progress
	for _, e := range r.events {
		if e.name != EventProgress {
			t.Fatalf("unexpected event %q", e.name)
		}
		if len(e.data) != 1 {
			t.Fatalf("%s carries %d values, want 1", e.name, len(e.data))
		}
		p, ok := e.data[0].(transcribe.Progress)
		if !ok {
			t.Fatalf("%s carries %T, want transcribe.Progress", e.name, e.data[0])
		}
		out = append(out, p)
	}
	return out
}

func newTestApp(eng *fakeEngine, rec *recorder) *App {
	a := NewApp(eng, rec.emit)
	a.now = eng.clock.now
	a.cacheDir = func() (string, error) { return "/cache/staging", nil }
	return a
}

func chunk(stage transcribe.Stage, done, total int) transcribe.Progress {
	p := transcribe.Progress{Path: "a.wav", Stage: stage, ChunksDone: done, ChunksTotal: total}
	if total > 0 {
		p.Fraction = float64(done) / float64(total)
	}
	return p
}

func TestTranscribeThrottlesProgress(t *testing.T) {
	ms := time.Millisecond
	fast := func(n int) []step { // n chunks of 100, reported 10 ms apart
		var s []step
		for i := 1; i <= n; i++ {
			s = append(s, step{10 * ms, chunk(transcribe.StageTranscribing, i, 100)})
		}
		return s
	}
	tests := []struct {
		name  string
		steps []step
		want  []transcribe.Progress
	}{
		{
			name: "no progress at all",
		},
		{
			name: "every stage change goes through at once",
			steps: []step{
				{0, chunk(transcribe.StageQueued, 0, 0)},
				{1 * ms, chunk(transcribe.StageStaging, 0, 0)},
				{1 * ms, chunk(transcribe.StageDecoding, 0, 0)},
				{1 * ms, chunk(transcribe.StageTranscribing, 0, 3)},
				{1 * ms, chunk(transcribe.StageExporting, 3, 3)},
				{1 * ms, chunk(transcribe.StageDone, 3, 3)},
			},
			want: []transcribe.Progress{
				chunk(transcribe.StageQueued, 0, 0),
				chunk(transcribe.StageStaging, 0, 0),
				chunk(transcribe.StageDecoding, 0, 0),
				chunk(transcribe.StageTranscribing, 0, 3),
				chunk(transcribe.StageExporting, 3, 3),
				chunk(transcribe.StageDone, 3, 3),
			},
		},
		{
			name:  "updates 10 ms apart come through every 100 ms, the held-back last one at the end",
			steps: fast(25),
			want: []transcribe.Progress{
				chunk(transcribe.StageTranscribing, 1, 100),  // t=10: first
				chunk(transcribe.StageTranscribing, 11, 100), // t=110
				chunk(transcribe.StageTranscribing, 21, 100), // t=210
				chunk(transcribe.StageTranscribing, 25, 100), // flushed when the engine returns
			},
		},
		{
			name: "an end state is never held back, cancelled included",
			steps: []step{
				{0, chunk(transcribe.StageCancelled, 1, 3)},
				{1 * ms, chunk(transcribe.StageCancelled, 1, 3)},
			},
			want: []transcribe.Progress{
				chunk(transcribe.StageCancelled, 1, 3),
				chunk(transcribe.StageCancelled, 1, 3),
			},
		},
		{
			name: "the last chunk is never held back",
			steps: []step{
				{0, chunk(transcribe.StageTranscribing, 1, 3)},
				{5 * ms, chunk(transcribe.StageTranscribing, 2, 3)},
				{5 * ms, chunk(transcribe.StageTranscribing, 3, 3)},
			},
			want: []transcribe.Progress{
				chunk(transcribe.StageTranscribing, 1, 3),
				chunk(transcribe.StageTranscribing, 3, 3),
			},
		},
		{
			name: "slow updates all go through",
			steps: []step{
				{0, chunk(transcribe.StageTranscribing, 1, 4)},
				{150 * ms, chunk(transcribe.StageTranscribing, 2, 4)},
				{150 * ms, chunk(transcribe.StageTranscribing, 3, 4)},
			},
			want: []transcribe.Progress{
				chunk(transcribe.StageTranscribing, 1, 4),
				chunk(transcribe.StageTranscribing, 2, 4),
				chunk(transcribe.StageTranscribing, 3, 4),
			},
		},
		{
			name: "a failure goes through at once",
			steps: []step{
				{0, chunk(transcribe.StageTranscribing, 1, 4)},
				{1 * ms, chunk(transcribe.StageTranscribing, 2, 4)},
				{1 * ms, chunk(transcribe.StageFailed, 2, 4)},
			},
			want: []transcribe.Progress{
				chunk(transcribe.StageTranscribing, 1, 4),
				chunk(transcribe.StageFailed, 2, 4),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{clock: newFakeClock(), steps: tt.steps}
			rec := &recorder{}
			if _, err := newTestApp(eng, rec).Transcribe("a.wav", "s:1", "m"); err != nil {
				t.Fatal(err)
			}
			got := rec.progress(t)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("emitted\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestTranscribeRateIsBounded(t *testing.T) {
	// 1000 updates over one simulated second.
	eng := &fakeEngine{clock: newFakeClock()}
	for i := 1; i <= 1000; i++ {
		eng.steps = append(eng.steps, step{time.Millisecond, chunk(transcribe.StageTranscribing, i, 2000)})
	}
	rec := &recorder{}
	if _, err := newTestApp(eng, rec).Transcribe("a.wav", "", ""); err != nil {
		t.Fatal(err)
	}
	got := rec.progress(t)
	if len(got) > 12 {
		t.Errorf("%d progress events in one second, want about 10", len(got))
	}
	if last := got[len(got)-1]; last.ChunksDone != 1000 {
		t.Errorf("last event says %d chunks done, want 1000", last.ChunksDone)
	}
}

func TestTranscribeRequestAndResult(t *testing.T) {
	want := transcribe.Result{
		Transcript: transcript.Transcript{Source: "/x/a.wav", Model: "m", Text: "hello"},
	}
	tests := []struct {
		name, path, server, model string
		wantReq                   transcribe.Request
	}{
		{
			name: "values as given", path: "/x/a.wav", server: "gpu:8001", model: "dtmf",
			wantReq: transcribe.Request{Path: "/x/a.wav", Server: "gpu:8001", Model: "dtmf", CacheDir: "/cache/staging", Timestamps: true},
		},
		{
			name: "blank server and model fall back to the defaults", path: "/x/a.wav", server: "  ", model: "",
			wantReq: transcribe.Request{Path: "/x/a.wav", Server: DefaultServer, Model: DefaultModel, CacheDir: "/cache/staging", Timestamps: true},
		},
		{
			name: "surrounding spaces are trimmed", path: "/x/a.wav", server: " gpu:8001 ", model: " dtmf\n",
			wantReq: transcribe.Request{Path: "/x/a.wav", Server: "gpu:8001", Model: "dtmf", CacheDir: "/cache/staging", Timestamps: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{clock: newFakeClock(), result: want}
			got, err := newTestApp(eng, &recorder{}).Transcribe(tt.path, tt.server, tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result %+v, want %+v", got, want)
			}
			if len(eng.requests) != 1 || !reflect.DeepEqual(eng.requests[0], tt.wantReq) {
				t.Errorf("requests %+v, want [%+v]", eng.requests, tt.wantReq)
			}
		})
	}
}

func TestTranscribeErrors(t *testing.T) {
	engineErr := errors.New("transcribe: engine under construction")
	cacheErr := errors.New("finding the user cache folder: $HOME is not defined")
	tests := []struct {
		name      string
		path      string
		engineErr error
		cacheErr  error
		wantIs    error
		wantCalls int
	}{
		{name: "engine error passes through unchanged", path: "a.wav", engineErr: engineErr, wantIs: engineErr, wantCalls: 1},
		{name: "no cache folder: the engine is not called", path: "a.wav", cacheErr: cacheErr, wantIs: cacheErr},
		{name: "no file: the engine is not called", path: "  "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{clock: newFakeClock(), err: tt.engineErr}
			a := newTestApp(eng, &recorder{})
			if tt.cacheErr != nil {
				a.cacheDir = func() (string, error) { return "", tt.cacheErr }
			}
			_, err := a.Transcribe(tt.path, "", "")
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && err != tt.wantIs {
				t.Errorf("error %v, want exactly %v", err, tt.wantIs)
			}
			if len(eng.requests) != tt.wantCalls {
				t.Errorf("engine called %d times, want %d", len(eng.requests), tt.wantCalls)
			}
		})
	}
}

func TestTranscribeStopsOnShutdown(t *testing.T) {
	eng := &ctxEngine{started: make(chan struct{})}
	a := NewApp(eng, (&recorder{}).emit)
	a.cacheDir = func() (string, error) { return t.TempDir(), nil }
	done := make(chan error, 1)
	go func() { _, err := a.Transcribe("a.wav", "", ""); done <- err }()
	<-eng.started
	a.shutdown(context.Background())
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Transcribe still running after shutdown")
	}
}

// ctxEngine's Transcribe waits for its context to end.
type ctxEngine struct{ started chan struct{} }

func (e *ctxEngine) Transcribe(ctx context.Context, _ transcribe.Request, _ func(transcribe.Progress)) (transcribe.Result, error) {
	close(e.started)
	<-ctx.Done()
	return transcribe.Result{}, ctx.Err()
}

func (e *ctxEngine) ServerStatus(context.Context, string) (inference.ServerStatus, error) {
	return inference.ServerStatus{}, nil
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
		{name: "blank server asks the default", server: "", status: status, wantServer: DefaultServer, wantStatus: status},
		{name: "error passes through", server: "gpu:8001", err: refused, wantServer: "gpu:8001", wantIs: refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &fakeEngine{clock: newFakeClock(), status: tt.status, statusErr: tt.err}
			got, err := newTestApp(eng, &recorder{}).ServerStatus(tt.server)
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
	eng := &fakeEngine{clock: newFakeClock(), blockStatus: true}
	a := newTestApp(eng, &recorder{})
	a.statusTimeout = 20 * time.Millisecond
	_, err := a.ServerStatus("gpu:8001")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want one wrapping context.DeadlineExceeded", err)
	}
	want := "The server at gpu:8001 did not answer within 20ms: dialing gpu:8001: context deadline exceeded."
	if got := formatError(err); got != want {
		t.Errorf("formatted %q, want %q", got, want)
	}
}

// TestAddFiles covers the path both a native drop and the bound method take.
func TestAddFiles(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  []event
	}{
		{name: "paths are forwarded", paths: []string{"/a.wav", "/b c.wav"}, want: []event{{EventFilesDropped, []any{[]string{"/a.wav", "/b c.wav"}}}}},
		{name: "blank paths are dropped", paths: []string{"", "/a.wav", " "}, want: []event{{EventFilesDropped, []any{[]string{"/a.wav"}}}}},
		{name: "nothing to forward: no event", paths: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			newTestApp(&fakeEngine{clock: newFakeClock()}, rec).AddFiles(tt.paths)
			if !reflect.DeepEqual(rec.events, tt.want) {
				t.Errorf("events %+v, want %+v", rec.events, tt.want)
			}
		})
	}
}

func TestPickAudioFile(t *testing.T) {
	dialogErr := errors.New("no display")
	tests := []struct {
		name     string
		path     string
		err      error
		wantPath string
		wantErr  bool
	}{
		{name: "chosen file", path: "/home/u/a.wav", wantPath: "/home/u/a.wav"},
		{name: "cancelled", path: ""},
		{name: "dialog error is reported", err: dialogErr, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(&fakeEngine{clock: newFakeClock()}, &recorder{})
			var opts runtime.OpenDialogOptions
			a.openFile = func(o runtime.OpenDialogOptions) (string, error) { opts = o; return tt.path, tt.err }
			got, err := a.PickAudioFile()
			if (err != nil) != tt.wantErr || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if got != tt.wantPath {
				t.Errorf("path %q, want %q", got, tt.wantPath)
			}
			if len(opts.Filters) < 2 || opts.Filters[0].Pattern != "*.wav;*.WAV" || opts.Filters[len(opts.Filters)-1].Pattern != "*" {
				t.Errorf("filters %+v: want WAV first and all files last", opts.Filters)
			}
		})
	}
	t.Run("before startup", func(t *testing.T) {
		if _, err := NewApp(&fakeEngine{}, nil).PickAudioFile(); err == nil {
			t.Error("no error without a window")
		}
	})
}

func TestDefaults(t *testing.T) {
	got := NewApp(&fakeEngine{}, nil).Defaults()
	if got != (Settings{Server: "localhost:8001", Model: "parakeet-tdt-0.6b-v2"}) {
		t.Errorf("defaults %+v", got)
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
			if got := formatError(tt.err); got != tt.want {
				t.Errorf("formatError = %#v, want %#v", got, tt.want)
			}
		})
	}
}
