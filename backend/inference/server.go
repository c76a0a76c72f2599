// Package inference is the app's view of a Triton server: is it there, which
// models does it host, and what does a model hear in a chunk of audio. It is
// the only backend package that imports the triton client.
package inference

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
)

// Server is a connection to one Triton server.
type Server struct {
	addr   string
	client *triton.Client
}

// Connect prepares a connection to addr (host:port of Triton's gRPC
// endpoint). Nothing is sent until the first call.
func Connect(addr string) (*Server, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, apperr.New(apperr.CodeUnreachable, nil, "no server address set: enter host:port of a Triton server's gRPC endpoint (usually port 8001)")
	}
	c, err := triton.New(triton.Config{Addr: addr})
	if err != nil {
		return nil, apperr.New(apperr.CodeUnreachable, err, "server address %q is not valid: use host:port, e.g. localhost:8001", addr)
	}
	return &Server{addr: addr, client: c}, nil
}

// Addr is the server's address as given.
func (s *Server) Addr() string { return s.addr }

// Close ends the connection.
func (s *Server) Close() error { return s.client.Close() }

// Status asks whether the server is live and ready, what it is, and for
// every model in its repository: readiness, versions and statistics.
func (s *Server) Status(ctx context.Context) (ServerStatus, error) {
	st := ServerStatus{Address: s.addr, Models: []ModelStatus{}}
	live, err := s.client.ServerLive(ctx)
	if err != nil {
		return st, s.explain(err, "")
	}
	st.Live = live
	if st.Ready, err = s.client.ServerReady(ctx); err != nil {
		return st, s.explain(err, "")
	}
	md, err := s.client.ServerMetadata(ctx)
	if err != nil {
		return st, s.explain(err, "")
	}
	st.Name, st.Version = md.Name, md.Version
	index, err := s.client.RepositoryIndex(ctx, false)
	if err != nil {
		return st, s.explain(err, "")
	}
	stats, err := s.client.ModelStatistics(ctx, "", "")
	if err != nil {
		return st, s.explain(err, "")
	}
	byName := map[string]*ModelStatus{}
	for _, m := range index {
		ms := byName[m.Name]
		if ms == nil {
			st.Models = append(st.Models, ModelStatus{Name: m.Name, Versions: []string{}})
			ms = &st.Models[len(st.Models)-1]
			byName[m.Name] = ms
		}
		if m.Version != "" {
			ms.Versions = append(ms.Versions, m.Version)
		}
		if ms.State == "" || m.State == "READY" {
			ms.State = m.State
		}
	}
	// Pointers into st.Models are stale after the appends above; index anew.
	for i := range st.Models {
		m := &st.Models[i]
		if m.Ready, err = s.client.ModelReady(ctx, m.Name, ""); err != nil {
			return st, s.explain(err, m.Name)
		}
		for _, ms := range stats {
			if ms.GetName() != m.Name {
				continue
			}
			if len(m.Versions) == 0 && ms.GetVersion() != "" {
				m.Versions = append(m.Versions, ms.GetVersion())
			}
			is := ms.GetInferenceStats()
			m.InferenceCount += ms.GetInferenceCount()
			m.ExecutionCount += ms.GetExecutionCount()
			m.SuccessCount += is.GetSuccess().GetCount()
			m.FailureCount += is.GetFail().GetCount()
			m.QueueNs += is.GetQueue().GetNs()
			m.ComputeInferNs += is.GetComputeInfer().GetNs()
		}
	}
	return st, nil
}

// models lists the names in the repository, sorted, for messages.
func (s *Server) models(ctx context.Context) ([]triton.ModelIndex, error) {
	index, err := s.client.RepositoryIndex(ctx, false)
	if err != nil {
		return nil, s.explain(err, "")
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Name < index[j].Name })
	return index, nil
}

// WaitOptions says how long to wait for a model that is still loading.
type WaitOptions struct {
	Timeout time.Duration                             // default 60 s
	Poll    time.Duration                             // default 1 s
	OnWait  func(elapsed time.Duration, state string) // called on every poll while not ready
}

// OpenModel checks that the server hosts model, waits while it loads, and
// checks it against the model contract. An unknown model fails at once with
// the list of models the server has.
func (s *Server) OpenModel(ctx context.Context, model string, wait WaitOptions) (*Model, error) {
	if wait.Timeout <= 0 {
		wait.Timeout = 60 * time.Second
	}
	if wait.Poll <= 0 {
		wait.Poll = time.Second
	}
	index, err := s.models(ctx)
	if err != nil {
		return nil, err
	}
	state, known := "", false
	var names []string
	for _, m := range index {
		names = append(names, m.Name)
		if m.Name == model {
			known, state = true, m.State
		}
	}
	if !known {
		have := "none"
		if len(names) > 0 {
			have = strings.Join(dedupe(names), ", ")
		}
		return nil, apperr.New(apperr.CodeUnknownModel, nil, "server %s has no model %q (models there: %s)", s.addr, model, have)
	}
	start := time.Now()
	for {
		ready, err := s.client.ModelReady(ctx, model, "")
		if err != nil {
			return nil, s.explain(err, model)
		}
		if ready {
			break
		}
		elapsed := time.Since(start)
		if elapsed >= wait.Timeout {
			return nil, apperr.New(apperr.CodeModelNotReady, nil, "model %q on %s is still not ready after %s (state %s): wait for the server to finish loading it, then try again", model, s.addr, elapsed.Round(time.Second), state)
		}
		if wait.OnWait != nil {
			wait.OnWait(elapsed, state)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait.Poll):
		}
		if idx, err := s.models(ctx); err == nil {
			for _, m := range idx {
				if m.Name == model {
					state = m.State
				}
			}
		}
	}
	return s.describe(ctx, model)
}

func dedupe(sorted []string) []string {
	out := sorted[:0:0]
	for i, n := range sorted {
		if i == 0 || n != sorted[i-1] {
			out = append(out, n)
		}
	}
	return out
}

// explain turns a client error into a sentence for the user.
func (s *Server) explain(err error, model string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var te *triton.Error
	if !errors.As(err, &te) {
		return apperr.New(apperr.CodeServer, err, "talking to %s: %v", s.addr, err)
	}
	switch te.Code {
	case triton.CodeUnavailable:
		if model != "" && strings.Contains(te.Message, model) {
			return apperr.New(apperr.CodeModelNotReady, err, "model %q on %s is not available: %s", model, s.addr, te.Message)
		}
		return apperr.New(apperr.CodeUnreachable, err, "cannot reach a Triton server at %s: check the address and that the server is running (Triton's gRPC port is usually 8001)", s.addr)
	case triton.CodeDeadlineExceeded:
		return apperr.New(apperr.CodeUnreachable, err, "the Triton server at %s did not answer in time: check the address and the network (Triton's gRPC port is usually 8001)", s.addr)
	case triton.CodeCanceled:
		return context.Canceled
	case triton.CodeNotFound:
		return apperr.New(apperr.CodeModelNotReady, err, "model %q on %s has no version ready: %s", model, s.addr, te.Message)
	}
	return apperr.New(apperr.CodeServer, err, "the Triton server at %s answered %s: %s", s.addr, strings.ReplaceAll(string(te.Code), "_", " "), te.Message)
}
