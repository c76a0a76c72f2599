package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// Event names the frontend subscribes to (see frontend/src/lib/api.ts).
const (
	// EventProgress carries one transcribe.Progress, throttled per file.
	EventProgress = "transcribe:progress"
	// EventFilesDropped carries the []string of paths dropped on the window.
	EventFilesDropped = "files:dropped"
)

// Defaults shown in the UI until the user changes them.
const (
	DefaultServer = "localhost:8001"
	DefaultModel  = "parakeet-tdt-0.6b-v2"
)

const (
	// progressInterval is the shortest gap between two progress events of
	// one file that are in the same stage (about 10 per second at most).
	progressInterval = 100 * time.Millisecond
	// statusTimeout bounds one "Check server" round trip.
	statusTimeout = 10 * time.Second
)

// Engine is what the app needs from the backend; *transcribe.Engine
// satisfies it, tests pass a fake.
type Engine interface {
	Transcribe(ctx context.Context, req transcribe.Request, progress func(transcribe.Progress)) (transcribe.Result, error)
	ServerStatus(ctx context.Context, server string) (inference.ServerStatus, error)
}

// Emitter sends one event to the frontend.
type Emitter func(name string, data ...any)

// Settings are the values the UI starts with.
type Settings struct {
	Server string `json:"server"`
	Model  string `json:"model"`
}

// App is the only struct bound to the UI: a thin facade over the backend.
// It is also the only place that calls the Wails runtime, so everything
// else can be tested without a window.
type App struct {
	engine Engine

	// Seams for tests; startup fills the nil ones with Wails' runtime.
	emit     Emitter
	openFile func(runtime.OpenDialogOptions) (string, error)
	cacheDir func() (string, error)
	now      func() time.Time

	statusTimeout time.Duration

	mu     sync.Mutex
	ctx    context.Context // cancelled on shutdown; carries Wails' values after startup
	cancel context.CancelFunc
}

// NewApp returns an App that uses engine. A nil emit means "emit through
// the Wails runtime once the window has started".
func NewApp(engine Engine, emit Emitter) *App {
	ctx, cancel := context.WithCancel(context.Background())
	return &App{
		engine:   engine,
		emit:     emit,
		cacheDir: config.DefaultCacheDir,
		now:      time.Now,
		ctx:      ctx,
		cancel:   cancel,

		statusTimeout: statusTimeout,
	}
}

// startup is Wails' OnStartup: it keeps Wails' context (the runtime needs
// it), wires the runtime seams and forwards file drops to the frontend.
func (a *App) startup(ctx context.Context) {
	a.mu.Lock()
	a.cancel() // the pre-start context is replaced by one tied to Wails'
	a.ctx, a.cancel = context.WithCancel(ctx)
	if a.emit == nil {
		a.emit = func(name string, data ...any) { runtime.EventsEmit(ctx, name, data...) }
	}
	if a.openFile == nil {
		a.openFile = func(opts runtime.OpenDialogOptions) (string, error) {
			return runtime.OpenFileDialog(ctx, opts)
		}
	}
	a.mu.Unlock()

	runtime.OnFileDrop(ctx, func(_, _ int, paths []string) { a.AddFiles(paths) })
}

// shutdown is Wails' OnShutdown: it cancels work still in flight.
func (a *App) shutdown(context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancel()
}

// runtimeSeams returns the app's lifetime context and its emitter (a
// no-op before startup when none was injected).
func (a *App) runtimeSeams() (context.Context, Emitter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	emit := a.emit
	if emit == nil {
		emit = func(string, ...any) {} // before startup there is nobody to tell
	}
	return a.ctx, emit
}

// AddFiles hands paths to the frontend as if they had been dropped on the
// window: the native drop handler calls it, and so can the UI (a pasted
// path) or a browser-driven end-to-end test, which cannot fake a native
// drop. Blank paths are skipped; nothing is emitted when none is left.
func (a *App) AddFiles(paths []string) {
	kept := make([]string, 0, len(paths))
	for _, p := range paths {
		if strings.TrimSpace(p) != "" {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return
	}
	_, emit := a.runtimeSeams()
	emit(EventFilesDropped, kept)
}

// audioFilters are the open dialog's filters, WAV first. GTK matches
// patterns case-sensitively, hence both spellings.
var audioFilters = []runtime.FileFilter{
	{DisplayName: "WAV audio (*.wav)", Pattern: "*.wav;*.WAV"},
	{DisplayName: "All files", Pattern: "*"},
}

// PickAudioFile shows the native open dialog; "" means the user cancelled.
func (a *App) PickAudioFile() (string, error) {
	a.mu.Lock()
	open := a.openFile
	a.mu.Unlock()
	if open == nil {
		return "", errors.New("the window is not ready yet")
	}
	path, err := open(runtime.OpenDialogOptions{
		Title:   "Choose an audio file",
		Filters: audioFilters,
	})
	if err != nil {
		return "", fmt.Errorf("opening the file dialog: %w", err)
	}
	return path, nil
}

// Defaults returns the settings the UI starts with.
func (a *App) Defaults() Settings {
	return Settings{Server: DefaultServer, Model: DefaultModel}
}

// Transcribe runs one file through the engine with word timestamps and no
// exports, emitting EventProgress as it goes. Blank server or model fall
// back to the defaults.
func (a *App) Transcribe(path, server, model string) (transcribe.Result, error) {
	if strings.TrimSpace(path) == "" {
		return transcribe.Result{}, errors.New("choose an audio file first")
	}
	cache, err := a.cacheDir()
	if err != nil {
		return transcribe.Result{}, err
	}
	req := transcribe.Request{
		Path:       path,
		Server:     orDefault(server, DefaultServer),
		Model:      orDefault(model, DefaultModel),
		CacheDir:   cache,
		Timestamps: true,
	}

	ctx, emit := a.runtimeSeams()
	th := newProgressThrottle(progressInterval, a.now, func(p transcribe.Progress) {
		emit(EventProgress, p)
	})
	res, err := a.engine.Transcribe(ctx, req, th.update)
	th.flush()
	return res, err
}

// ServerStatus asks the server what it is and which models it hosts, giving
// up after a.statusTimeout.
func (a *App) ServerStatus(server string) (inference.ServerStatus, error) {
	server = orDefault(server, DefaultServer)
	base, _ := a.runtimeSeams()
	ctx, cancel := context.WithTimeout(base, a.statusTimeout)
	defer cancel()
	st, err := a.engine.ServerStatus(ctx, server)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return st, fmt.Errorf("the server at %s did not answer within %s: %w", server, a.statusTimeout, err)
	}
	return st, err
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

// progressThrottle lets through at most one progress update per interval
// for one file, except that a change of stage, the last chunk and the end
// of the job (done, failed or cancelled) always go through at once. The
// latest update held back is sent by flush, so the UI never ends on a
// stale value.
type progressThrottle struct {
	mu        sync.Mutex
	interval  time.Duration
	now       func() time.Time
	emit      func(transcribe.Progress)
	sent      bool
	last      time.Time
	lastStage transcribe.Stage
	pending   *transcribe.Progress
}

func newProgressThrottle(interval time.Duration, now func() time.Time, emit func(transcribe.Progress)) *progressThrottle {
	return &progressThrottle{interval: interval, now: now, emit: emit}
}

func (t *progressThrottle) update(p transcribe.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	urgent := !t.sent ||
		p.Stage != t.lastStage ||
		p.Stage.Finished() || // done, failed or cancelled
		(p.ChunksTotal > 0 && p.ChunksDone == p.ChunksTotal)
	if !urgent && now.Sub(t.last) < t.interval {
		t.pending = &p
		return
	}
	t.send(p, now)
}

func (t *progressThrottle) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending != nil {
		t.send(*t.pending, t.now())
	}
}

func (t *progressThrottle) send(p transcribe.Progress, now time.Time) {
	t.sent, t.last, t.lastStage, t.pending = true, now, p.Stage, nil
	t.emit(p)
}

// formatError is Wails' ErrorFormatter: every error a bound method returns
// reaches the frontend as one readable sentence, worded by apperr.
func formatError(err error) any {
	if err == nil {
		return nil
	}
	return sentence(apperr.Message(err))
}

// sentence folds whitespace, capitalises a leading plain word (never a
// file name or path) and ends msg with a full stop unless it already ends
// with punctuation.
func sentence(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" {
		return "Something went wrong."
	}
	first, _, _ := strings.Cut(msg, " ")
	first = strings.TrimRight(first, ":,;")
	if first != "" && strings.IndexFunc(first, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
		r, size := utf8.DecodeRuneInString(msg)
		msg = string(unicode.ToUpper(r)) + msg[size:]
	}
	if !strings.ContainsAny(msg[len(msg)-1:], ".!?") {
		msg += "."
	}
	return msg
}
