package localserver

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// compose is a docker compose command for the project with o's files and
// variables.
func (m *Manager) compose(o StartOptions, timeout time.Duration, onLine func(string), args ...string) command {
	a := []string{"compose", "--ansi", "never", "--env-file", filepath.Join(m.cfg.Dir, envFile)}
	for _, f := range o.composeFiles() {
		a = append(a, "-f", filepath.Join(m.cfg.Dir, f))
	}
	a = append(a, "-p", ProjectName)
	return command{
		name:    m.cfg.Docker,
		args:    append(a, args...),
		env:     append(o.env(), "BUILDKIT_PROGRESS=plain"),
		dir:     m.cfg.Dir,
		timeout: timeout,
		onLine:  onLine,
	}
}

// checkDocker fails with one sentence when docker or its engine is missing.
func (m *Manager) checkDocker(ctx context.Context) error {
	r := run(ctx, command{name: m.cfg.Docker, args: []string{"version", "--format", "{{.Server.Version}}"}, timeout: m.cfg.CommandTimeout})
	if r.err == nil && strings.TrimSpace(string(r.stdout)) != "" {
		return nil
	}
	if err := dockerFault(r, m.cfg.GOOS); err != nil {
		return err
	}
	return apperr.New(CodeDockerNotRunning, r.err, "%s", engineStoppedSentence(m.cfg.GOOS))
}

// Start writes the server files, builds the image when it is missing or
// the files changed, starts the container with the ticked models and
// waits until Triton reports every one of them ready, sending progress
// on the way (progress may be nil). A Start in progress is interrupted by
// Stop, Restart, Remove or another Start. It returns nil once ready; a failure
// is one sentence (apperr) and leaves the container stopped, so that it
// does not restart in a loop. Cancelling ctx stops the waiting, not the
// server.
func (m *Manager) Start(ctx context.Context, opts StartOptions, progress func(Progress)) error {
	m.interrupt() // a second press, say with other models, supersedes the first
	ctx, done := m.begin(ctx)
	defer done()
	m.mu.Lock()
	defer m.mu.Unlock()
	return interrupted(ctx, m.start(ctx, opts, progress))
}

func (m *Manager) start(ctx context.Context, opts StartOptions, progress func(Progress)) error {
	out := newThrottle(progress, 500*time.Millisecond)
	opts = opts.withDefaults()
	out.send(Progress{Phase: PhasePrepare, Message: "Checking Docker"})
	if err := m.checkDocker(ctx); err != nil {
		return err
	}
	out.send(Progress{Phase: PhasePrepare, Message: "Writing the server files to " + m.cfg.Dir})
	files, err := m.WriteFiles(ctx, WriteOptions{})
	if err != nil {
		return err
	}
	if len(files.Kept) > 0 {
		out.send(Progress{Phase: PhasePrepare, Message: fmt.Sprintf("Kept your changes to %s (Reset restores the shipped files)", strings.Join(files.Kept, ", "))})
	}
	if err := m.checkOptions(opts); err != nil {
		return err
	}
	st, _ := m.loadState()
	st.Options, st.Started = opts, false
	if err := m.saveState(ctx, st); err != nil {
		return err
	}
	c, exists, err := m.ps(ctx, st)
	if err != nil {
		return err
	}
	if !exists || c.State != "running" {
		if err := portsFree(opts); err != nil {
			return err
		}
	}

	version := FilesVersion()
	img := run(ctx, command{name: m.cfg.Docker, args: []string{"image", "inspect", "--format", "{{.Id}}", ImageName}, timeout: m.cfg.CommandTimeout})
	if img.err != nil || st.Built != version {
		if f := dockerFault(img, m.cfg.GOOS); f != nil && !errors.Is(img.err, errTimeout) && apperr.CodeOf(f) != CodeOffline {
			return f
		}
		out.send(Progress{Phase: PhaseImageDownload, Message: "Preparing the server image: the first time this downloads about 10 GB and takes 10 to 20 minutes"})
		bw := newBuildWatcher(out)
		r := run(ctx, m.compose(opts, m.cfg.BuildTimeout, bw.line, "build", Service))
		if r.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return composeFailure("Building the server image", r, m.cfg.GOOS)
		}
		st.Built = version
		if err := m.saveState(ctx, st); err != nil {
			return err
		}
	}

	out.send(Progress{Phase: PhaseContainer, Message: "Starting the server container"})
	since := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	r := run(ctx, m.compose(opts, 10*time.Minute, nil, "up", "-d", "--no-build", Service))
	if r.err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return composeFailure("Starting the server", r, m.cfg.GOOS)
	}
	st.Started = true
	if err := m.saveState(ctx, st); err != nil {
		return err
	}
	return m.waitReady(ctx, st, since, out)
}

// Restart restarts the container with the options of the last Start and
// waits until it is ready again, as Start does.
func (m *Manager) Restart(ctx context.Context, progress func(Progress)) error {
	m.interrupt()
	ctx, done := m.begin(ctx)
	defer done()
	m.mu.Lock()
	defer m.mu.Unlock()
	return interrupted(ctx, m.restart(ctx, progress))
}

func (m *Manager) restart(ctx context.Context, progress func(Progress)) error {
	st, ok := m.loadState()
	if !ok {
		return apperr.New(CodeNotSetUp, nil, "the local server has not been started yet: press Start")
	}
	out := newThrottle(progress, 500*time.Millisecond)
	if err := m.checkDocker(ctx); err != nil {
		return err
	}
	out.send(Progress{Phase: PhaseContainer, Message: "Restarting the server"})
	since := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	r := run(ctx, m.compose(st.Options, 3*time.Minute, nil, "restart", Service))
	if r.err != nil {
		return composeFailure("Restarting the server", r, m.cfg.GOOS)
	}
	st.Started = true
	if err := m.saveState(ctx, st); err != nil {
		return err
	}
	return m.waitReady(ctx, st, since, out)
}

// waitReady follows the container's log and asks the Prober until every
// ticked model is ready, a model fails, the container stops, or the
// start timeout passes.
func (m *Manager) waitReady(ctx context.Context, st state, since string, out *throttle) error {
	if m.cfg.Prober == nil {
		return apperr.New(apperr.CodeInternal, errNoProber, "the app cannot ask the local server whether it is ready (no prober)")
	}
	ctx, cancel := context.WithTimeoutCause(ctx, m.cfg.StartTimeout, errTimeout)
	defer cancel()
	lw := newLogWatcher(out, st.Options.Models)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		run(ctx, m.compose(st.Options, m.cfg.StartTimeout, lw.line, "logs", "--follow", "--no-color", "--no-log-prefix", "--since", since, Service))
	}()
	defer func() { cancel(); <-logsDone }()

	addr := st.Options.Address()
	tick := time.NewTicker(m.cfg.Poll)
	defer tick.Stop()
	lastLoading := ""
	for polls := 0; ; polls++ {
		if sentence, _ := lw.fatalSentence(); sentence != "" {
			return m.failStart(apperr.New(CodeServerStopped, nil, "%s", sentence), st)
		}
		if model, reason, ok := lw.anyFailure(); ok {
			return m.failStart(apperr.New(CodeModelLoad, nil, "%s", modelFailedSentence(model, reason)), st)
		}
		h, err := m.cfg.Prober.Probe(ctx, addr)
		if err == nil {
			ready := 0
			for _, name := range st.Options.Models {
				mh, _ := h.model(name)
				switch {
				case mh.Ready:
					ready++
				case mh.State == "UNAVAILABLE":
					reason := mh.Reason
					if r, ok := lw.failure(name); ok && reason == "" {
						reason = r
					}
					return m.failStart(apperr.New(CodeModelLoad, nil, "%s", modelFailedSentence(name, reason)), st)
				case mh.State == "LOADING" && lastLoading != name && !lw.shown(name):
					lastLoading = name
					out.send(Progress{Phase: PhaseLoading, Model: name, Message: "Loading " + name})
				}
			}
			if h.Ready && ready == len(st.Options.Models) {
				out.send(Progress{Phase: PhaseReady, Address: addr, Message: fmt.Sprintf("The local server is ready at %s with %s", addr, strings.Join(st.Options.Models, ", "))})
				return nil
			}
		}
		if polls%2 == 1 || err != nil {
			c, exists, perr := m.ps(ctx, st)
			switch {
			case perr != nil && ctx.Err() == nil && apperr.CodeOf(perr) != CodeTimeout:
				return perr // docker went away (a slow answer is asked again)
			case perr == nil && !exists:
				return apperr.New(CodeServerStopped, nil, "the server's container disappeared while it was starting (removed outside the app?): press Start again")
			case perr == nil && (c.State == "exited" || c.State == "dead" || c.State == "restarting"):
				time.Sleep(200 * time.Millisecond) // let the log watcher read the last lines
				if sentence, noGPU := lw.fatalSentence(); sentence != "" {
					return m.failStart(apperr.New(CodeServerStopped, nil, "%s", sentence), st)
				} else if noGPU && st.Options.Profile == ProfileGPU {
					return m.failStart(apperr.New(CodeGPUUnavailable, nil, "%s", gpuInDockerSentence(m.cfg.GOOS)), st)
				}
				if model, reason, ok := lw.anyFailure(); ok {
					return m.failStart(apperr.New(CodeModelLoad, nil, "%s", modelFailedSentence(model, reason)), st)
				}
				return m.failStart(apperr.New(CodeServerStopped, nil, "the server stopped while starting (exit code %d): see its log", c.ExitCode), st)
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errTimeout) {
				return apperr.New(CodeTimeout, errTimeout, "the local server was not ready after %s: see its log (a slow download may still be running; press Start again to keep waiting)", m.cfg.StartTimeout.Round(time.Minute))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// failStart stops the container after a failed start (it would restart
// in a loop: restart: unless-stopped) and returns err.
func (m *Manager) failStart(err error, st state) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.CommandTimeout)
	defer cancel()
	run(ctx, m.compose(st.Options, m.cfg.CommandTimeout, nil, "stop", Service))
	st.Started = false
	_ = m.saveState(ctx, st)
	return err
}

// errInterrupted ends a Start or Restart that Stop, Restart or Remove
// interrupted.
var errInterrupted = errors.New("interrupted by another operation on the local server")

// begin makes ctx interruptible by Stop, Restart and Remove, which must not
// wait for a start that can take an hour.
func (m *Manager) begin(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	op := &operation{cancel: cancel}
	m.opMu.Lock()
	m.op = op
	m.opMu.Unlock()
	return ctx, func() {
		m.opMu.Lock()
		if m.op == op {
			m.op = nil
		}
		m.opMu.Unlock()
		cancel(nil)
	}
}

type operation struct{ cancel context.CancelCauseFunc }

// interrupt ends a Start or Restart in progress.
func (m *Manager) interrupt() {
	m.opMu.Lock()
	if m.op != nil {
		m.op.cancel(errInterrupted)
	}
	m.opMu.Unlock()
}

// interrupted turns an error of an interrupted operation into its sentence.
func interrupted(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errInterrupted) {
		return apperr.New(apperr.CodeCanceled, errInterrupted, "the start was stopped before the server was ready")
	}
	return err
}

// Stop stops the container; the image, the files and the model cache stay.
func (m *Manager) Stop(ctx context.Context) error {
	m.interrupt()
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.loadState()
	if !ok {
		return nil
	}
	st.Started = false
	if err := m.saveState(ctx, st); err != nil {
		return err
	}
	r := run(ctx, m.compose(st.Options, m.cfg.CommandTimeout+30*time.Second, nil, "stop", Service))
	if r.err != nil {
		return composeFailure("Stopping the server", r, m.cfg.GOOS)
	}
	return nil
}

// RemoveOptions say what Remove deletes besides the containers.
type RemoveOptions struct {
	// Cache deletes the model cache volume (the downloaded checkpoints,
	// several GB; the next start downloads them again).
	Cache bool `json:"cache"`
	// Image deletes the server image (about 20 GB; the next start builds
	// it again).
	Image bool `json:"image"`
}

// Remove deletes the containers (and, as asked, the cache volume and the
// image). The files in Dir stay.
func (m *Manager) Remove(ctx context.Context, opts RemoveOptions) error {
	m.interrupt()
	m.mu.Lock()
	defer m.mu.Unlock()
	st, _ := m.loadState()
	args := []string{"down", "--remove-orphans"}
	if opts.Cache {
		args = append(args, "--volumes")
	}
	if opts.Image {
		args = append(args, "--rmi", "all")
	}
	if _, err := m.WriteFiles(ctx, WriteOptions{}); err != nil { // compose needs its files to know what to remove
		return err
	}
	st.Started = false
	if opts.Image {
		st.Built = ""
	}
	if err := m.saveState(ctx, st); err != nil {
		return err
	}
	r := run(ctx, m.compose(st.Options, m.cfg.CommandTimeout+2*time.Minute, nil, args...))
	if r.err != nil {
		return composeFailure("Removing the server", r, m.cfg.GOOS)
	}
	return nil
}

// Logs returns the last n lines of the container's log (200 when n <= 0).
func (m *Manager) Logs(ctx context.Context, n int) (string, error) {
	if n <= 0 {
		n = 200
	}
	st, ok := m.loadState()
	if !ok {
		return "", apperr.New(CodeNotSetUp, nil, "the local server has not been started yet, so there is no log")
	}
	r := run(ctx, m.compose(st.Options, m.cfg.CommandTimeout, nil, "logs", "--no-color", "--no-log-prefix", "--tail", strconv.Itoa(n), Service))
	if r.err != nil {
		return "", composeFailure("Reading the server's log", r, m.cfg.GOOS)
	}
	text := string(r.stdout)
	if len(r.stderr) > 0 {
		text += string(r.stderr)
	}
	return text, nil
}
