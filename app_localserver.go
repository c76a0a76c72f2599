package main

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver/probe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// EventLocalServerProgress carries one LocalProgress of a Start or Restart
// (the manager already holds download updates back to two a second, so
// they are forwarded as they come).
const EventLocalServerProgress = "localserver:progress"

// LocalProgress is a localserver.Progress numbered in the order it was
// sent: Wails' dev server delivers each event from a goroutine of its own,
// so the UI orders them by Seq rather than by arrival.
type LocalProgress struct {
	localserver.Progress
	Seq int64 `json:"seq"`
}

// progressEmitter numbers the progress of one operation.
func progressEmitter(emit Emitter) func(localserver.Progress) {
	var mu sync.Mutex
	var seq int64
	return func(p localserver.Progress) {
		mu.Lock()
		defer mu.Unlock()
		seq++
		emit(EventLocalServerProgress, LocalProgress{Progress: p, Seq: seq})
	}
}

// Deadlines of the local server's short calls (Start and Restart have the
// manager's own, long ones: the first start downloads several GB).
const (
	localDetectTimeout = 90 * time.Second
	localStatusTimeout = 20 * time.Second
	localOpTimeout     = 5 * time.Minute
)

// LocalServer is what the app asks of the local server; *localserver.Manager
// satisfies it, and tests run it against the fake docker.
type LocalServer interface {
	Detect(ctx context.Context) localserver.Report
	Models(profile localserver.Profile) ([]localserver.ModelInfo, error)
	Start(ctx context.Context, opts localserver.StartOptions, progress func(localserver.Progress)) error
	Restart(ctx context.Context, progress func(localserver.Progress)) error
	Stop(ctx context.Context) error
	Remove(ctx context.Context, opts localserver.RemoveOptions) error
	Logs(ctx context.Context, n int) (string, error)
	Status(ctx context.Context) (localserver.Status, error)
	IsLocal(addr string) bool
}

// localServer is the manager, made on first use: nothing about the local
// server runs until the user opens its page or presses one of its buttons.
func (a *App) localServer() (LocalServer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.local != nil {
		return a.local, nil
	}
	dir, err := localserver.DefaultDir()
	if err != nil {
		return nil, apperr.New(apperr.CodeFile, err, "finding the local server's folder failed: %s", apperr.Message(err))
	}
	a.local = localserver.New(localserver.Config{Dir: dir, Prober: probe.Inference{}})
	return a.local, nil
}

// LocalServerDetect looks for Docker, the NVIDIA GPU and its driver, and
// free disk, without changing anything; what is missing comes with a
// sentence on how to get it.
func (a *App) LocalServerDetect() (localserver.Report, error) {
	m, err := a.localServer()
	if err != nil {
		return localserver.Report{}, err
	}
	ctx, cancel := a.localCtx(localDetectTimeout)
	defer cancel()
	return m.Detect(ctx), nil
}

// LocalServerModels lists the models the local server can load with
// profile ("gpu" or "cpu"): the shipped ones and any the user added.
func (a *App) LocalServerModels(profile string) ([]localserver.ModelInfo, error) {
	m, err := a.localServer()
	if err != nil {
		return nil, err
	}
	list, err := m.Models(localserver.Profile(profile))
	if err != nil {
		return nil, apperr.New(apperr.CodeInternal, err, "listing the local server's models failed: %v", err)
	}
	return list, nil
}

// LocalServerStart starts the local server with what the user chose,
// sending progress as EventLocalServerProgress, and once every ticked model
// is ready points the app's server setting at it (saved), has the engine
// dial again, and retries the jobs that failed for want of a server. It
// returns the settings as saved.
func (a *App) LocalServerStart(opts localserver.StartOptions) (config.Settings, error) {
	m, err := a.localServer()
	if err != nil {
		return a.settings.Get(), err
	}
	base, emit := a.runtimeSeams()
	if err := m.Start(base, opts, progressEmitter(emit)); err != nil {
		return a.settings.Get(), err
	}
	return a.useLocalServer(opts)
}

// LocalServerRestart restarts the local server with the choices of the
// last Start and waits until it is ready again.
func (a *App) LocalServerRestart() error {
	m, err := a.localServer()
	if err != nil {
		return err
	}
	base, emit := a.runtimeSeams()
	if err := m.Restart(base, progressEmitter(emit)); err != nil {
		return err
	}
	a.reconnect() // connections to the old container are dead
	return nil
}

// LocalServerStop stops the local server; the image, the files and the
// model cache stay. Jobs that need it wait, as for any server that is away.
func (a *App) LocalServerStop() error {
	m, err := a.localServer()
	if err != nil {
		return err
	}
	ctx, cancel := a.localCtx(localOpTimeout)
	defer cancel()
	return m.Stop(ctx)
}

// LocalServerRemove deletes the local server's containers and, with
// withCache, its model cache (the next start downloads the checkpoints
// again). The files in the data folder stay.
func (a *App) LocalServerRemove(withCache bool) error {
	m, err := a.localServer()
	if err != nil {
		return err
	}
	ctx, cancel := a.localCtx(localOpTimeout)
	defer cancel()
	return m.Remove(ctx, localserver.RemoveOptions{Cache: withCache})
}

// LocalServerLogs returns the last lines of the local server's log.
func (a *App) LocalServerLogs(lines int) (string, error) {
	m, err := a.localServer()
	if err != nil {
		return "", err
	}
	ctx, cancel := a.localCtx(localStatusTimeout)
	defer cancel()
	return m.Logs(ctx, lines)
}

// LocalServerStatus says in one sentence how the local server stands.
func (a *App) LocalServerStatus() (localserver.Status, error) {
	m, err := a.localServer()
	if err != nil {
		return localserver.Status{}, err
	}
	ctx, cancel := a.localCtx(localStatusTimeout)
	defer cancel()
	s, err := m.Status(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return s, apperr.New(localserver.CodeTimeout, err, "Docker did not say within %s how the local server stands: try again in a minute", localStatusTimeout)
	}
	return s, err
}

// IsLocalServer reports whether addr is the local server the app started
// last; it reads the app's own files only (no docker call), so the status
// line may ask it whenever it likes.
func (a *App) IsLocalServer(addr string) bool {
	m, err := a.localServer()
	if err != nil {
		return false
	}
	return m.IsLocal(orDefault(addr, a.settings.Get().Server))
}

func (a *App) localCtx(d time.Duration) (context.Context, context.CancelFunc) {
	base, _ := a.runtimeSeams()
	return context.WithTimeout(base, d)
}

// useLocalServer points the settings at the local server started with
// opts: its address, plaintext (it listens on this machine), and a model
// it loaded when the chosen one is not among them. Then the engine dials
// afresh and the jobs that failed because no server answered go again,
// at the new address.
func (a *App) useLocalServer(opts localserver.StartOptions) (config.Settings, error) {
	addr := opts.Address()
	s := a.settings.Get()
	s.Server, s.TLS = addr, false
	if !slices.Contains(opts.Models, s.Model) {
		s.Model = a.transcriptionModel(addr, opts.Models)
	}
	saved, err := a.SaveSettings(s)
	if err != nil {
		return saved, err
	}
	a.reconnect() // the address may be the one of a server that was away: dial afresh
	for _, j := range a.queue.Jobs() {
		if j.State != transcribe.StageFailed || !waitingForServer(j.ErrorCode) {
			continue
		}
		_ = a.queue.RetryWith(j.ID, func(r *transcribe.Request) { // a job removed meanwhile is fine
			r.Server = addr
			if !slices.Contains(opts.Models, r.Model) {
				r.Model = saved.Model
			}
		})
	}
	return saved, nil
}

// waitingForServer reports whether a job failed for want of a server
// (rather than for its file or its settings).
func waitingForServer(code string) bool {
	switch apperr.Code(code) {
	case apperr.CodeUnreachable, apperr.CodeModelNotReady, apperr.CodeUnknownModel, apperr.CodeServer:
		return true
	}
	return false
}

// transcriptionModel is the first of the ticked models the server at addr
// reports ready for transcription (not a speaker model), else the first
// ticked.
func (a *App) transcriptionModel(addr string, ticked []string) string {
	ctx, cancel := a.localCtx(a.statusTimeout)
	defer cancel()
	if st, err := a.engine.ServerStatus(ctx, addr); err == nil {
		for _, name := range ticked {
			for _, m := range st.Models {
				if m.Name == name && m.Ready && m.Kind != models.KindSpeakerEmbedding {
					return name
				}
			}
		}
	}
	return ticked[0]
}
