// Package inference is the app's view of a Triton server: is it there, which
// models does it host, and what does a model hear in a chunk of audio. It is
// the only backend package that imports the triton client.
package inference

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
)

// Server is a connection to a Triton server, or to several replicas of
// one that share the requests round-robin.
type Server struct {
	addr     string // as displayed: the addresses, comma-separated
	cfg      Config
	client   *triton.Client
	replicas []*triton.Client // one per address when there are several: status and statistics are per replica
}

// Config says how to reach a server and how to treat it.
type Config struct {
	// Addresses are host:port of Triton's gRPC endpoint (a host alone means
	// port 8001), one per replica; or a single dns:///host:port target,
	// whose every address is used.
	Addresses []string
	TLS       TLSConfig
	// Headers go with every call, e.g. "authorization" for a gateway.
	Headers map[string]string
	// Priority is Triton's request priority: 1 is the highest, larger is
	// lower; 0 leaves the model's default. Models without priority levels
	// ignore it.
	Priority int
	// Retry bounds how hard a chunk is retried; zero fields take defaults.
	Retry RetryPolicy
	// ReconnectDelay is the first wait before connecting again after a
	// connection failed (default 250 ms, growing to 5 s).
	ReconnectDelay time.Duration
	// AudioInput limits the audio form Recognize sends: "" = the most
	// compact the model declares (AUDIO_FLAC, AUDIO_PCM16, then AUDIO);
	// models.InputAudio forces FP32; a compact input's name uses it when
	// the model declares it, else FP32.
	AudioInput string
	// OnWarning hears about what the client works around, such as a
	// compact audio input a model declares wrongly; nil logs it with
	// log/slog.
	OnWarning func(message string)
}

// warn reports a problem the client works around.
func (s *Server) warn(msg string) {
	if s.cfg.OnWarning != nil {
		s.cfg.OnWarning(msg)
		return
	}
	slog.Warn(msg)
}

// TLSConfig turns on TLS. Setting any file or the server name turns it on
// as well.
type TLSConfig struct {
	Enabled    bool
	CAFile     string // certificates to trust (PEM); "" = the system's
	CertFile   string // client certificate for mTLS (PEM), with KeyFile
	KeyFile    string
	ServerName string // name expected in the server's certificate
	// KeyPEM, when set, is the client key itself (PEM), used instead of
	// KeyFile: the app keeps it in the OS keyring, never in a file.
	KeyPEM []byte
}

func (t TLSConfig) on() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || len(t.KeyPEM) > 0 || t.ServerName != ""
}

// Connect prepares a plaintext connection to addr (host:port of Triton's
// gRPC endpoint; several comma-separated for replicas) with default
// settings. Nothing is sent until the first call.
func Connect(addr string) (*Server, error) {
	return ConnectConfig(Config{Addresses: strings.Split(addr, ",")})
}

// ConnectConfig prepares a connection as cfg says. Nothing is sent until the
// first call; settings that cannot work (a malformed address, an unreadable
// certificate) fail here.
func ConnectConfig(cfg Config) (*Server, error) {
	var addrs []string
	for _, a := range cfg.Addresses {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, apperr.New(apperr.CodeUnreachable, nil, "no server address set: enter host:port of a Triton server's gRPC endpoint (usually port 8001)")
	}
	cfg.Addresses = addrs
	cfg.Retry = cfg.Retry.withDefaults()
	switch cfg.AudioInput {
	case "", models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC:
	default:
		return nil, apperr.New(apperr.CodeSettings, nil, "audio input %q is not one the contract knows: use %s, %s or %s, or leave it empty for the most compact one", cfg.AudioInput, models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC)
	}
	if cfg.Priority < 0 {
		return nil, apperr.New(apperr.CodeSettings, nil, "request priority %d is negative: use 0 for the model's default, 1 for the highest", cfg.Priority)
	}
	tc := triton.Config{Addrs: addrs, Headers: cfg.Headers, ReconnectDelay: cfg.ReconnectDelay}
	if cfg.TLS.on() {
		tc.TLS = &triton.TLS{CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, KeyPEM: cfg.TLS.KeyPEM, ServerName: cfg.TLS.ServerName}
	}
	c, err := triton.New(tc)
	if err != nil {
		return nil, settingsError(err, strings.Join(addrs, ","))
	}
	s := &Server{addr: c.Addr(), cfg: cfg, client: c}
	if addrs := c.Addrs(); len(addrs) > 1 {
		for _, a := range addrs {
			tc.Addrs = []string{a}
			rc, err := triton.New(tc)
			if err != nil {
				s.Close()
				return nil, settingsError(err, a)
			}
			s.replicas = append(s.replicas, rc)
		}
	}
	return s, nil
}

func settingsError(err error, addr string) error {
	var ce *triton.ConfigError
	if errors.As(err, &ce) {
		switch ce.Setting {
		case "tls":
			return apperr.New(apperr.CodeTLS, err, "TLS settings: %s", ce.Message)
		case "header":
			return apperr.New(apperr.CodeSettings, err, "request headers: %s", ce.Message)
		}
		return apperr.New(apperr.CodeUnreachable, err, "%s: use host:port, e.g. localhost:8001", ce.Message)
	}
	return apperr.New(apperr.CodeUnreachable, err, "server address %q is not valid: use host:port, e.g. localhost:8001", addr)
}

// Addr is the server's address as given (several are comma-separated).
func (s *Server) Addr() string { return s.addr }

// Close ends the connections.
func (s *Server) Close() error {
	err := s.client.Close()
	for _, r := range s.replicas {
		r.Close()
	}
	return err
}

// Status asks whether the server is live and ready, what it is, and for
// every model in its repository: readiness, versions and statistics. With
// several replicas each is asked on its own connection (Replicas), and the
// top level sums them up: live and ready when any is, counts added.
func (s *Server) Status(ctx context.Context) (ServerStatus, error) {
	if len(s.replicas) == 0 {
		return s.statusOf(ctx, s.client, s.addr)
	}
	reps := make([]ServerStatus, len(s.replicas))
	errs := make([]error, len(s.replicas))
	var wg sync.WaitGroup
	for i, c := range s.replicas {
		wg.Go(func() { reps[i], errs[i] = s.statusOf(ctx, c, c.Addr()) })
	}
	wg.Wait()
	st := ServerStatus{Address: s.addr, Models: []ModelStatus{}, TLS: s.cfg.TLS.on(), Replicas: reps}
	var firstErr error
	byName := map[string]int{}
	for i, r := range reps {
		if errs[i] != nil {
			if errors.Is(errs[i], context.Canceled) {
				return st, errs[i]
			}
			reps[i].Error = apperr.Message(errs[i])
			firstErr = cmp.Or(firstErr, errs[i])
			continue
		}
		st.Live = st.Live || r.Live
		st.Ready = st.Ready || r.Ready
		if st.Name == "" {
			st.Name, st.Version, st.Extensions = r.Name, r.Version, r.Extensions
		}
		for _, m := range r.Models {
			k, ok := byName[m.Name]
			if !ok {
				m.Versions = slices.Clone(m.Versions)
				m.BatchStats = slices.Clone(m.BatchStats)
				st.Models = append(st.Models, m)
				byName[m.Name] = len(st.Models) - 1
				continue
			}
			st.Models[k].merge(m)
		}
	}
	if !st.Live && firstErr != nil {
		return st, firstErr // no replica answered
	}
	sort.Slice(st.Models, func(i, j int) bool { return st.Models[i].Name < st.Models[j].Name })
	return st, nil
}

// statusOf is the status of the one server c talks to.
func (s *Server) statusOf(ctx context.Context, c *triton.Client, addr string) (ServerStatus, error) {
	st := ServerStatus{Address: addr, Models: []ModelStatus{}, TLS: s.cfg.TLS.on()}
	live, err := c.ServerLive(ctx)
	if err != nil {
		return st, s.explainAt(err, "", addr)
	}
	st.Live = live
	if st.Ready, err = c.ServerReady(ctx); err != nil {
		return st, s.explainAt(err, "", addr)
	}
	md, err := c.ServerMetadata(ctx)
	if err != nil {
		return st, s.explainAt(err, "", addr)
	}
	st.Name, st.Version, st.Extensions = md.Name, md.Version, md.Extensions
	if st.Extensions == nil {
		st.Extensions = []string{}
	}
	index, err := c.RepositoryIndex(ctx, false)
	if err != nil {
		return st, s.explainAt(err, "", addr)
	}
	stats, err := c.ModelStatistics(ctx, "", "")
	if err != nil {
		return st, s.explainAt(err, "", addr)
	}
	at := map[string]int{} // index in st.Models by name
	for _, m := range index {
		k, ok := at[m.Name]
		if !ok {
			k = len(st.Models)
			at[m.Name] = k
			st.Models = append(st.Models, ModelStatus{Name: m.Name, Versions: []string{}})
		}
		ms := &st.Models[k]
		if m.Version != "" {
			ms.Versions = append(ms.Versions, m.Version)
		}
		if ms.State == "" || m.State == "READY" {
			ms.State, ms.Reason = m.State, m.Reason
		}
	}
	for i := range st.Models {
		m := &st.Models[i]
		if m.Ready, err = c.ModelReady(ctx, m.Name, ""); err != nil {
			return st, s.explainAt(err, m.Name, addr)
		}
		if m.Ready {
			cfg, err := c.ModelConfig(ctx, m.Name, "")
			if err != nil {
				return st, s.explainAt(err, m.Name, addr)
			}
			m.Instances = instances(cfg)
			m.Kind = cfg.GetParameters()[models.ParamKind].GetStringValue()
			if m.Kind == "" {
				// An ASR model: which form of the audio this client sends it.
				md, err := c.ModelMetadata(ctx, m.Name, "")
				if err != nil {
					return st, s.explainAt(err, m.Name, addr)
				}
				if hasTensor(md.Inputs, models.InputAudio, models.DatatypeFP32) {
					m.AudioInput, m.WarningTexts = chooseAudioInput(md.Inputs, cfg, s.cfg.AudioInput)
					m.Warnings = english(m.WarningTexts)
				}
			}
		}
		for _, ms := range stats {
			if ms.GetName() != m.Name {
				continue
			}
			if len(m.Versions) == 0 && ms.GetVersion() != "" {
				m.Versions = append(m.Versions, ms.GetVersion())
			}
			m.add(ms)
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
// checks it against the model contract. A model the server does not have
// fails at once with the list of models it has; so does one that is in
// its repository but not loaded (Triton's explicit model control), and one
// whose load failed, with Triton's reason.
func (s *Server) OpenModel(ctx context.Context, model string, wait WaitOptions) (*Model, error) {
	if err := s.waitReady(ctx, model, wait); err != nil {
		return nil, err
	}
	return s.describe(ctx, model)
}

// waitReady is OpenModel up to the contract check: the model is known,
// loaded or loading, and ready when it returns nil.
func (s *Server) waitReady(ctx context.Context, model string, wait WaitOptions) error {
	if wait.Timeout <= 0 {
		wait.Timeout = 60 * time.Second
	}
	if wait.Poll <= 0 {
		wait.Poll = time.Second
	}
	index, err := s.models(ctx)
	if err != nil {
		return err
	}
	state, reason, known := indexState(index, model)
	if !known {
		var names []string
		for _, m := range index {
			names = append(names, m.Name)
		}
		have := "none"
		if len(names) > 0 {
			have = strings.Join(dedupe(names), ", ")
		}
		return apperr.New(apperr.CodeUnknownModel, nil, "server %s has no model %q (models there: %s)", s.addr, model, have)
	}
	start := time.Now()
	for {
		if err := s.notLoading(model, state, reason); err != nil {
			return err
		}
		ready, err := s.client.ModelReady(ctx, model, "")
		if err != nil {
			return s.explain(err, model)
		}
		if ready {
			break
		}
		elapsed := time.Since(start)
		if elapsed >= wait.Timeout {
			return apperr.New(apperr.CodeModelNotReady, nil, "model %q on %s is still not ready after %s (state %s): wait for the server to finish loading it, then try again", model, s.addr, elapsed.Round(time.Second), state)
		}
		if wait.OnWait != nil {
			wait.OnWait(elapsed, state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait.Poll):
		}
		if idx, err := s.models(ctx); err == nil {
			if st, why, ok := indexState(idx, model); ok {
				state, reason = st, why
			}
		}
	}
	return nil
}

// indexState is the best state the repository index gives model's
// versions (READY over LOADING over the rest), with its reason; "" when
// the model is on disk but not loaded. known is false when the index does
// not list the model at all.
func indexState(index []triton.ModelIndex, model string) (state, reason string, known bool) {
	rank := map[string]int{"READY": 3, "LOADING": 2, "UNLOADING": 1}
	for _, m := range index {
		if m.Name != model {
			continue
		}
		if !known || rank[m.State] > rank[state] || (state == "" && m.State != "") {
			state, reason = m.State, m.Reason
		}
		known = true
	}
	return state, reason, known
}

// notLoading says why waiting for a model in this index state is
// pointless: it is not loaded at all (no state: the server loads models
// only when told, and nobody told it), or its load failed (UNAVAILABLE,
// with Triton's reason). Loading and ready models return nil.
func (s *Server) notLoading(model, state, reason string) error {
	switch state {
	case "":
		return apperr.New(apperr.CodeModelNotReady, nil, "model %q is in the repository of %s but not loaded: the server loads models only when asked (explicit model control), so load it there, e.g. start tritonserver with --load-model=%s", model, s.addr, model)
	case "UNAVAILABLE":
		if reason == "unloaded" {
			return apperr.New(apperr.CodeModelNotReady, nil, "model %q was unloaded on %s: load it there again", model, s.addr)
		}
		if reason == "" {
			reason = "no reason given"
		}
		return apperr.New(apperr.CodeModelNotReady, nil, "model %q on %s is not available: %s", model, s.addr, reason)
	}
	return nil
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
func (s *Server) explain(err error, model string) error { return s.explainAt(err, model, s.addr) }

// explainAt is explain for a call to addr (one replica, or all of them).
func (s *Server) explainAt(err error, model, addr string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var te *triton.Error
	if !errors.As(err, &te) {
		return apperr.New(apperr.CodeServer, err, "talking to %s: %v", addr, err)
	}
	switch te.Code {
	case triton.CodeUnreachable:
		if te.Problem == triton.ProblemNotGRPC {
			return apperr.New(apperr.CodeUnreachable, err, "the server at %s answered in HTTP/1.1, not gRPC: that is probably Triton's HTTP port (usually 8000); use its gRPC port (usually 8001)", addr)
		}
		return apperr.New(apperr.CodeUnreachable, err, "cannot reach a Triton server at %s: check the address and that the server is running (Triton's gRPC port is usually 8001)", addr)
	case triton.CodeTLS:
		return explainTLS(err, te, addr)
	case triton.CodeModelNotReady:
		return apperr.New(apperr.CodeModelNotReady, err, "model %q on %s is not ready (%s): wait for the server to finish loading it", model, addr, te.Message)
	case triton.CodeUnavailable:
		return apperr.New(apperr.CodeServer, err, "the Triton server at %s is unavailable (%s): it may be restarting or overloaded; try again shortly", addr, te.Message)
	case triton.CodeResourceExhausted:
		return apperr.New(apperr.CodeServer, err, "the Triton server at %s is overloaded (%s): lower the number of chunks in flight or try again later", addr, te.Message)
	case triton.CodeTooLarge:
		return apperr.New(apperr.CodeTooLarge, err, "a request was too large for %s or a gateway in front of it (%s): raise the gateway's message size limit", addr, te.Message)
	case triton.CodeDeadlineExceeded:
		return apperr.New(apperr.CodeUnreachable, err, "the Triton server at %s did not answer in time: check the address and the network (Triton's gRPC port is usually 8001)", addr)
	case triton.CodeCanceled:
		return context.Canceled
	case triton.CodeServerCanceled:
		return apperr.New(apperr.CodeServer, err, "the Triton server at %s, or a proxy in front of it, cancelled the request (%s): try again; if it keeps happening, check the server's log", addr, te.Message)
	case triton.CodeNotFound:
		return apperr.New(apperr.CodeModelNotReady, err, "model %q on %s has no version ready: %s", model, addr, te.Message)
	}
	return apperr.New(apperr.CodeServer, err, "the Triton server at %s answered %s: %s", addr, strings.ReplaceAll(string(te.Code), "_", " "), te.Message)
}

// explainTLS says which TLS setting to change.
func explainTLS(err error, te *triton.Error, addr string) error {
	switch te.Problem {
	case triton.ProblemServerWantsTLS:
		return apperr.New(apperr.CodeTLS, err, "the server at %s expects TLS but the connection is plaintext: turn TLS on (CLI: --tls)", addr)
	case triton.ProblemServerPlaintext:
		return apperr.New(apperr.CodeTLS, err, "the server at %s does not use TLS: turn TLS off, or enable TLS on the server", addr)
	case triton.ProblemUnknownAuthority:
		return apperr.New(apperr.CodeTLS, err, "the TLS certificate of %s is not signed by an authority this computer trusts: set the CA certificate that signed it (CLI: --tls-ca FILE)", addr)
	case triton.ProblemNameMismatch:
		return apperr.New(apperr.CodeTLS, err, "the TLS certificate of %s is for another name (%s): connect by a name it lists, or set the expected server name (CLI: --tls-server-name)", addr, certNames(te.Message))
	case triton.ProblemClientCertRequired:
		return apperr.New(apperr.CodeTLS, err, "the server at %s requires a client certificate it trusts: set a client certificate and key (CLI: --tls-cert FILE --tls-key FILE)", addr)
	}
	return apperr.New(apperr.CodeTLS, err, "the TLS handshake with %s failed: %s", addr, te.Message)
}

// certNames keeps the useful end of Go's x509 hostname error.
func certNames(msg string) string {
	if i := strings.Index(msg, "x509: "); i >= 0 {
		return strings.TrimSuffix(strings.TrimSpace(msg[i+len("x509: "):]), `"`)
	}
	return msg
}
