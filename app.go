package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/secrets"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// Event names the frontend subscribes to (see frontend/src/lib/api.ts).
const (
	// EventQueue carries one transcribe.Event: a job added, changed or
	// removed. The queue already holds a job's progress back to about ten
	// updates a second, so events are forwarded as they come.
	EventQueue = "queue:event"
	// EventFilesAdded carries the AddResult of every AddFiles (a drop on
	// the window calls it with no one to answer), so the UI can list the
	// files that were not taken and why.
	EventFilesAdded = "files:added"
)

// statusTimeout bounds one "Check server" round trip.
const statusTimeout = 10 * time.Second

// Engine is what the app asks the backend directly; *transcribe.Engine
// satisfies it, tests pass a fake.
type Engine interface {
	ServerStatus(ctx context.Context, server string) (inference.ServerStatus, error)
}

// Queue is the work list the app drives; *transcribe.Queue satisfies it.
type Queue interface {
	Add(req transcribe.Request) (transcribe.JobID, error)
	Cancel(id transcribe.JobID) error
	CancelAll()
	RetryWith(id transcribe.JobID, change func(*transcribe.Request)) error
	Remove(id transcribe.JobID) error
	Jobs() []transcribe.Job
	Result(id transcribe.JobID) (transcribe.Result, error)
	Subscribe(fn func(transcribe.Event)) (unsubscribe func())
	Restore(ctx context.Context) ([]transcribe.JobID, error)
}

// Emitter sends one event to the frontend.
type Emitter func(name string, data ...any)

// App is the only struct bound to the UI: a thin facade over the backend.
// It is also the only place that calls the Wails runtime, so everything
// else can be tested without a window.
type App struct {
	engine   Engine
	queue    Queue
	settings *config.File
	// editStore keeps segment edits; nil when nothing is persisted.
	editStore editStore
	// history lists past transcripts; nil when nothing is persisted.
	history historyStore
	// secrets keeps header values out of the settings file.
	secrets secrets.Store
	// logDir holds the rotating log files for ExportDiagnostics.
	logDir string
	// local runs the local server; made on first use (app_localserver.go).
	local LocalServer
	// openAtStart are the files named on the command line ("Open with"
	// from a file manager): queued once the window has started.
	openAtStart []string
	// live runs the microphone sessions (app_live.go); nil: none.
	live *liveService

	// Seams for tests; startup fills the nil ones with Wails' runtime.
	emit      Emitter
	openFiles func(runtime.OpenDialogOptions) ([]string, error)
	pickDir   func(title string) (string, error)
	openURL   func(url string)
	raise     func() // brings the window to the front

	statusTimeout time.Duration

	mu     sync.Mutex
	ctx    context.Context // cancelled on shutdown; carries Wails' values after startup
	cancel context.CancelFunc
	unsubs []func() // the queue subscriptions: the UI's, the notifications'

	// finds cancels the FindSpeakers runs in flight, by history entry.
	findMu sync.Mutex
	finds  map[int64]context.CancelFunc
}

// setNotifier turns on desktop notifications through n, as the settings
// allow. They hear the queue on a subscription of their own, so a
// notification service that is slow to answer never holds up the UI's
// events. (Unexported: main calls it; it is no binding for the UI.)
func (a *App) setNotifier(n Notifier) {
	w := newNotifyWatch(n, func() bool { return a.settings.Get().Notifications })
	unsub := a.queue.Subscribe(w.event)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unsubs = append(a.unsubs, unsub)
}

// NewApp returns an App over engine and queue whose settings live in
// settings. A nil emit means "emit through the Wails runtime once the
// window has started".
func NewApp(engine Engine, queue Queue, settings *config.File, emit Emitter) *App {
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{
		engine:   engine,
		queue:    queue,
		settings: settings,
		secrets:  &secrets.Memory{},
		emit:     emit,
		ctx:      ctx,
		cancel:   cancel,

		statusTimeout: statusTimeout,
	}
	a.unsubs = append(a.unsubs, queue.Subscribe(func(ev transcribe.Event) {
		_, emit := a.runtimeSeams()
		ev.Job = forUI(ev.Job)
		emit(EventQueue, ev)
	}))
	return a
}

// startup is Wails' OnStartup: it keeps Wails' context (the runtime needs
// it), wires the runtime seams, adds dropped files to the queue and takes
// up the jobs the last run left unfinished.
func (a *App) startup(ctx context.Context) {
	a.mu.Lock()
	a.cancel() // the pre-start context is replaced by one tied to Wails'
	a.ctx, a.cancel = context.WithCancel(ctx)
	if a.emit == nil {
		a.emit = func(name string, data ...any) { runtime.EventsEmit(ctx, name, data...) }
	}
	if a.openFiles == nil {
		a.openFiles = func(opts runtime.OpenDialogOptions) ([]string, error) {
			return runtime.OpenMultipleFilesDialog(ctx, opts)
		}
	}
	if a.pickDir == nil {
		a.pickDir = func(title string) (string, error) {
			return runtime.OpenDirectoryDialog(ctx, runtime.OpenDialogOptions{Title: title, CanCreateDirectories: true})
		}
	}
	if a.openURL == nil {
		a.openURL = func(u string) { runtime.BrowserOpenURL(ctx, u) }
	}
	if a.raise == nil {
		a.raise = func() {
			runtime.WindowUnminimise(ctx)
			runtime.WindowShow(ctx)
		}
	}
	a.mu.Unlock()

	runtime.OnFileDrop(ctx, func(_, _ int, paths []string) { a.AddFiles(paths) })
	a.restore()
	a.recoverLive(ctx)
	go a.enableMicrophone(ctx) // waits for the GTK main loop
	if len(a.openAtStart) > 0 {
		a.AddFiles(a.openAtStart)
	}
}

// filesToOpen are the files named by the command line's arguments, made
// absolute against dir, the folder the command ran in ("" = this
// process's): the queue outlives the working folder. Options (a leading
// "-") are not files and are ignored.
func filesToOpen(dir string, args []string) []string {
	var paths []string
	for _, p := range args {
		if p == "" || strings.HasPrefix(p, "-") {
			continue
		}
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		paths = append(paths, p)
	}
	return paths
}

// secondInstance is Wails' OnSecondInstanceLaunch: the app was started
// again (say "Open with" while it runs) with the same data folder. That
// launch hands its files to this queue and quits, rather than opening a
// second window over the same database; this window comes to the front.
func (a *App) secondInstance(d options.SecondInstanceData) {
	if paths := filesToOpen(d.WorkingDirectory, d.Args); len(paths) > 0 {
		a.AddFiles(paths)
	}
	a.mu.Lock()
	raise := a.raise
	a.mu.Unlock()
	if raise != nil {
		raise()
	}
}

// instanceID names the single-instance lock: one running app per data
// folder, since two would share one database and one queue.
func instanceID(dataDir string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(dataDir)))
	return "nemo-transcribe-" + hex.EncodeToString(sum[:8])
}

// restore queues again what the last run left unfinished.
func (a *App) restore() {
	ctx, _ := a.runtimeSeams()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, _ = a.queue.Restore(ctx) // a broken store already failed at Open
}

// shutdown is Wails' OnShutdown: it stops forwarding events and cancels
// work still in flight.
func (a *App) shutdown(context.Context) {
	a.stopLive()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, unsub := range a.unsubs {
		unsub()
	}
	a.unsubs = nil
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

// mediaFilters are the open dialog's filters. GTK matches patterns
// case-sensitively, hence both spellings.
var mediaFilters = []runtime.FileFilter{
	{DisplayName: "Audio and video", Pattern: mediaPattern()},
	{DisplayName: "All files", Pattern: "*"},
}

// PickFiles shows the native open dialog and queues what the user chose;
// choosing nothing adds nothing.
func (a *App) PickFiles() (AddResult, error) {
	a.mu.Lock()
	open := a.openFiles
	a.mu.Unlock()
	if open == nil {
		return AddResult{}, errors.New("the window is not ready yet")
	}
	paths, err := open(runtime.OpenDialogOptions{
		Title:   "Choose audio or video files",
		Filters: mediaFilters,
	})
	if err != nil {
		return AddResult{}, fmt.Errorf("opening the file dialog: %w", err)
	}
	return a.AddFiles(paths), nil
}

// ServerStatus asks the server what it is and which models it hosts, giving
// up after a.statusTimeout. A blank server means the saved one.
func (a *App) ServerStatus(server string) (inference.ServerStatus, error) {
	server = orDefault(server, orDefault(a.settings.Get().Server, config.DefaultServer))
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

// formatError is Wails' ErrorFormatter: every error a bound method returns
// reaches the frontend as one readable English sentence, worded by apperr,
// with the code and the sentence's catalog key and parameters, so the UI
// can show it in its own language (frontend/src/lib/api.ts toError).
func formatError(err error) any {
	if err == nil {
		return nil
	}
	return rejection{Message: sentence(apperr.Message(err)), Code: string(apperr.CodeOf(err)), Text: apperr.Localize(err)}
}

// rejection is what a bound method's promise rejects with.
type rejection struct {
	Message string      `json:"message"`
	Code    string      `json:"code"`
	Text    apperr.Text `json:"text"`
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
