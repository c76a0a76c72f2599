package localserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// Prober asks Triton at addr (host:port of its gRPC endpoint) whether it
// is ready and what state each model of its repository is in. The app
// implements it with its inference client (package probe adapts
// backend/inference); tests use a fake or the same adapter against the
// devserver. An error means the server did not answer.
type Prober interface {
	Probe(ctx context.Context, addr string) (Health, error)
}

// ProberFunc adapts a function to Prober.
type ProberFunc func(ctx context.Context, addr string) (Health, error)

func (f ProberFunc) Probe(ctx context.Context, addr string) (Health, error) { return f(ctx, addr) }

// Health is Triton's answer.
type Health struct {
	Live   bool          `json:"live"`
	Ready  bool          `json:"ready"`
	Models []ModelHealth `json:"models"`
}

// ModelHealth is one model of the repository index.
type ModelHealth struct {
	Name   string `json:"name"`
	Ready  bool   `json:"ready"`
	State  string `json:"state"`            // READY, LOADING, UNAVAILABLE, ... ("" when not loaded)
	Reason string `json:"reason,omitempty"` // Triton's reason, e.g. why a load failed
}

func (h Health) model(name string) (ModelHealth, bool) {
	for _, m := range h.Models {
		if m.Name == name {
			return m, true
		}
	}
	return ModelHealth{}, false
}

// ServerState is what the status line says about the local server.
type ServerState string

const (
	StatusNotSetUp ServerState = "not_set_up"         // never started from the app
	StatusNoDocker ServerState = "docker_unavailable" // docker missing or its engine stopped
	StatusStopped  ServerState = "stopped"            // not running (Message says whether the user stopped it)
	StatusStarting ServerState = "starting"           // running, not every model ready yet
	StatusReady    ServerState = "ready"
	StatusFailed   ServerState = "failed" // a model failed to load, or the container keeps restarting
)

// Status is the local server's state for the status line ("local server").
type Status struct {
	State   ServerState `json:"state"`
	Message string      `json:"message"`        // one sentence
	Code    apperr.Code `json:"code,omitempty"` // set when something is wrong
	// Label is what the status line names the server: "local server".
	Label   string       `json:"label"`
	Address string       `json:"address"` // the app's server setting for it
	Options StartOptions `json:"options"`
	// Container is docker's state of the container ("running", "exited",
	// "restarting", ...; "" when there is none), with its health check and
	// exit code.
	Container string        `json:"container"`
	Health    string        `json:"health,omitempty"`
	ExitCode  int           `json:"exitCode,omitempty"`
	Models    []ModelHealth `json:"models,omitempty"` // the ticked models, as Triton reports them
}

// Label is the name the status line gives the local server.
const Label = "local server"

type container struct {
	Name     string `json:"Name"`
	Service  string `json:"Service"`
	State    string `json:"State"`
	Health   string `json:"Health"`
	ExitCode int    `json:"ExitCode"`
	Status   string `json:"Status"`
}

// psContainer is compose ps' view of the triton container; ok is false
// when there is none. Compose prints a JSON array (before 2.21) or one
// object a line.
func parsePS(out []byte) (container, bool) {
	text := strings.TrimSpace(string(out))
	var list []container
	if strings.HasPrefix(text, "[") {
		_ = json.Unmarshal([]byte(text), &list)
	} else {
		for _, line := range strings.Split(text, "\n") {
			var c container
			if json.Unmarshal([]byte(strings.TrimSpace(line)), &c) == nil && (c.Name != "" || c.Service != "") {
				list = append(list, c)
			}
		}
	}
	for _, c := range list {
		if c.Service == Service || c.Service == "" {
			c.State = strings.ToLower(c.State)
			c.Health = strings.ToLower(c.Health)
			return c, true
		}
	}
	return container{}, false
}

func (m *Manager) ps(ctx context.Context, st state) (container, bool, error) {
	r := run(ctx, m.compose(st.Options, m.cfg.CommandTimeout, nil, "ps", "--all", "--format", "json", Service))
	if r.err != nil {
		return container{}, false, composeFailure("Asking Docker for the server's container", r, m.cfg.GOOS)
	}
	c, ok := parsePS(r.stdout)
	return c, ok, nil
}

// Status reports the local server's state in one sentence; it fails only
// when ctx ends. It runs compose ps and, while the container runs, asks
// the Prober.
func (m *Manager) Status(ctx context.Context) (Status, error) {
	st, saved := m.loadState()
	s := Status{Label: Label, Options: st.Options, Address: st.Options.Address()}
	if !saved {
		s.State, s.Message = StatusNotSetUp, "The local server has not been set up yet: choose the models and press Start"
		return s, nil
	}
	c, exists, err := m.ps(ctx, st)
	if err != nil {
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		s.State, s.Code, s.Message = StatusNoDocker, apperr.CodeOf(err), apperr.Message(err)
		if st.Started {
			s.Message = "Docker stopped under the running local server (" + apperr.Message(err) + "); queued jobs wait until it runs again"
		}
		return s, nil
	}
	s.Container, s.Health, s.ExitCode = c.State, c.Health, c.ExitCode
	switch {
	case !exists:
		s.State, s.Message = StatusStopped, "The local server is not installed in Docker: press Start to set it up"
		if st.Started {
			s.Code, s.Message = CodeServerStopped, "The local server's container is gone (removed outside the app); queued jobs wait: press Start to set it up again"
		}
		return s, nil
	case c.State == "restarting":
		s.State, s.Code = StatusFailed, CodeServerStopped
		s.Message = fmt.Sprintf("The local server keeps restarting (exit code %d): see its log", c.ExitCode)
		return s, nil
	case c.State != "running":
		s.State = StatusStopped
		if st.Started {
			s.Code = CodeServerStopped
			s.Message = fmt.Sprintf("The local server stopped (exit code %d) while it should be running; queued jobs wait until it runs again: press Start, or see its log", c.ExitCode)
		} else {
			s.Message = "The local server is stopped"
		}
		return s, nil
	}
	if m.cfg.Prober == nil {
		s.State, s.Message = StatusStarting, "The local server's container is running"
		return s, nil
	}
	h, err := m.cfg.Prober.Probe(ctx, s.Address)
	if err != nil {
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		s.State, s.Message = StatusStarting, "The local server is starting: Triton does not answer yet"
		return s, nil
	}
	ready, failed := 0, ""
	for _, name := range st.Options.Models {
		mh, ok := h.model(name)
		if !ok {
			mh = ModelHealth{Name: name}
		}
		s.Models = append(s.Models, mh)
		switch {
		case mh.Ready:
			ready++
		case mh.State == "UNAVAILABLE" && failed == "":
			failed = modelFailedSentence(name, mh.Reason)
		}
	}
	switch {
	case failed != "":
		s.State, s.Code, s.Message = StatusFailed, CodeModelLoad, failed
	case h.Ready && ready == len(st.Options.Models):
		s.State, s.Message = StatusReady, fmt.Sprintf("The local server is ready with %s at %s", strings.Join(st.Options.Models, ", "), s.Address)
	default:
		s.State, s.Message = StatusStarting, fmt.Sprintf("The local server is starting: %d of %d models ready", ready, len(st.Options.Models))
	}
	return s, nil
}

func modelFailedSentence(model, reason string) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "Triton gave no reason; see the server's log"
	}
	return fmt.Sprintf("The model %s failed to load: %s", model, reason)
}

// Watch calls changed with the local server's status now and whenever its
// state or sentence changes, asking every interval (5 s when 0), until ctx
// ends; the app shows it in its status line and, when a job cannot reach
// the local server, explains why with it.
func (m *Manager) Watch(ctx context.Context, every time.Duration, changed func(Status)) {
	if every <= 0 {
		every = 5 * time.Second
	}
	var last Status
	first := true
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := m.Status(ctx)
		if err != nil {
			return
		}
		if first || s.State != last.State || s.Message != last.Message {
			changed(s)
			last, first = s, false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
