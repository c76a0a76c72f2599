// Package triton is NeMo Transcribe's client for NVIDIA Triton Inference
// Server's gRPC protocol (KServe v2). It is the only package of the app that
// speaks gRPC; callers see plain Go types and *Error.
package triton

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// DefaultPort is Triton's gRPC port, used when an address names no port.
const DefaultPort = "8001"

// Config says how to reach a server, or several replicas of one.
type Config struct {
	// Addr is one server: host:port (host alone means port 8001), or a
	// gRPC target such as dns:///host:port, whose every address is used.
	Addr string
	// Addrs are more replicas, host:port each. Requests are balanced
	// round-robin over every address of Addr and Addrs.
	Addrs []string

	// TLS, when set, encrypts the connection; nil means plaintext, as
	// Triton serves by default.
	TLS *TLS

	// Headers are sent with every call as gRPC metadata, e.g.
	// "authorization" for a gateway in front of Triton. Keys are
	// lower-cased.
	Headers map[string]string

	// CallTimeout bounds each control call (health, metadata, statistics)
	// whose context has no deadline of its own. Default 10 s.
	CallTimeout time.Duration

	// MaxMessageBytes bounds messages both ways. Default: Triton's own
	// limit, 2 GiB - 1 (grpc-go's 4 MiB receive default is far too small
	// for batched outputs).
	MaxMessageBytes int

	// ReconnectDelay is the first wait before connecting again after a
	// connection failed; it grows to ReconnectMaxDelay. Defaults 250 ms and
	// 5 s: a restarted server is found again within seconds, where gRPC's
	// own default would wait up to two minutes.
	ReconnectDelay    time.Duration
	ReconnectMaxDelay time.Duration
}

// TLS configures an encrypted connection.
type TLS struct {
	CAFile     string // PEM certificates to trust; "" = the system's roots
	CertFile   string // client certificate (PEM) for servers that require one (mTLS)
	KeyFile    string // its private key (PEM)
	ServerName string // name to expect in the server's certificate; "" = the host dialled
	// CertPEM and KeyPEM, when set, are the client certificate and key
	// themselves, used instead of CertFile and KeyFile: a key kept in a
	// keyring need never be written to a file.
	CertPEM, KeyPEM []byte
}

const defaultCallTimeout = 10 * time.Second

// Client is a connection to a Triton server (or its replicas). One Client
// multiplexes any number of concurrent calls over one HTTP/2 connection per
// address; it is safe for concurrent use.
type Client struct {
	cfg     Config
	addrs   []string // host:port as dialled, or the one target
	display string   // addrs joined, for messages
	conn    *grpc.ClientConn
	rpc     pb.GRPCInferenceServiceClient

	tlsConfig *tls.Config // nil: plaintext

	probeMu sync.Mutex
	probed  bool    // a diagnosis reached the server; problem is its finding
	problem Problem // what diagnose found
}

// New prepares a connection. It does not wait for the server: the first call
// connects, and reports an unreachable server as CodeUnreachable.
func New(cfg Config) (*Client, error) {
	addrs, target, err := targets(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = defaultCallTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = math.MaxInt32
	}
	if cfg.ReconnectDelay <= 0 {
		cfg.ReconnectDelay = 250 * time.Millisecond
	}
	if cfg.ReconnectMaxDelay < cfg.ReconnectDelay {
		cfg.ReconnectMaxDelay = max(5*time.Second, cfg.ReconnectDelay)
	}
	headers, err := metadataPairs(cfg.Headers)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	var tc *tls.Config
	if cfg.TLS != nil {
		if tc, err = cfg.TLS.load(); err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(tc.Clone())
	}

	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(cfg.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(cfg.MaxMessageBytes),
		),
		// Triton's defaults answer pings more often than every 5 minutes,
		// or pings without calls, with GOAWAY too_many_pings.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                5 * time.Minute,
			Timeout:             20 * time.Second,
			PermitWithoutStream: false,
		}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: cfg.ReconnectDelay, Multiplier: 1.6, Jitter: 0.2,
				MaxDelay: cfg.ReconnectMaxDelay,
			},
			MinConnectTimeout: 10 * time.Second,
		}),
		// Every address gets a connection and calls take turns; a replica
		// that is down is skipped until it is back.
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
	}
	if len(headers) > 0 {
		opts = append(opts,
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, o ...grpc.CallOption) error {
				return invoker(withHeaders(ctx, headers), method, req, reply, cc, o...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
				return streamer(withHeaders(ctx, headers), desc, cc, method, o...)
			}),
		)
	}
	if target == "" {
		// A fixed list: hand gRPC the addresses ourselves. Each keeps its
		// host as the name its TLS certificate must carry.
		r := manual.NewBuilderWithScheme("nemo-transcribe")
		state := resolver.State{}
		for _, a := range addrs {
			name, _, _ := net.SplitHostPort(a)
			if cfg.TLS != nil && cfg.TLS.ServerName != "" {
				name = cfg.TLS.ServerName // the address's name is what gRPC checks the certificate against
			}
			state.Addresses = append(state.Addresses, resolver.Address{Addr: a, ServerName: name})
		}
		r.InitialState(state)
		opts = append(opts, grpc.WithResolvers(r))
		// The :authority header names the first server, as a plain
		// target would (a gateway in front of Triton may route on it).
		target = "nemo-transcribe:///replicas"
		if cfg.TLS == nil || cfg.TLS.ServerName == "" {
			opts = append(opts, grpc.WithAuthority(addrs[0]))
		}
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, configErr("address", err, "server address %q: %v", strings.Join(addrs, ","), err)
	}
	return &Client{cfg: cfg, addrs: addrs, display: strings.Join(addrs, ","), conn: conn, rpc: pb.NewGRPCInferenceServiceClient(conn), tlsConfig: tc}, nil
}

// targets normalises the configured addresses. It returns either a list of
// host:port (target "") or one gRPC target of its own (dns:///…) in both.
func targets(cfg Config) (addrs []string, target string, err error) {
	var all []string
	for _, a := range append([]string{cfg.Addr}, cfg.Addrs...) {
		if a = strings.TrimSpace(a); a != "" {
			all = append(all, a)
		}
	}
	if len(all) == 0 {
		return nil, "", configErr("address", nil, "no server address")
	}
	for _, a := range all {
		if strings.Contains(a, "://") {
			if len(all) > 1 {
				return nil, "", configErr("address", nil, "target %q cannot be combined with other addresses: list host:port addresses, or give one dns:/// target", a)
			}
			if !strings.HasPrefix(a, "dns:///") {
				return nil, "", configErr("address", nil, "target %q: only dns:///host:port targets are supported", a)
			}
			return all, a, nil
		}
	}
	seen := map[string]bool{}
	for _, a := range all {
		hp, err := hostPort(a)
		if err != nil {
			return nil, "", err
		}
		if !seen[hp] {
			seen[hp] = true
			addrs = append(addrs, hp)
		}
	}
	return addrs, "", nil
}

// hostPort checks host:port and adds Triton's gRPC port to a bare host.
func hostPort(a string) (string, error) {
	if ip := net.ParseIP(strings.Trim(a, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), DefaultPort), nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return net.JoinHostPort(a, DefaultPort), nil
		}
		return "", configErr("address", err, "server address %q is not host:port", a)
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return "", configErr("address", nil, "server address %q has no valid host", a)
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
		return "", configErr("address", nil, "server address %q: port %q is not a number from 1 to 65535", a, port)
	}
	return a, nil
}

// Addr is the address or addresses the client dials, comma-separated.
func (c *Client) Addr() string { return c.display }

// Addrs are the addresses the client dials (or its one target).
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// Close ends the connection and every call still on it.
func (c *Client) Close() error { return c.conn.Close() }

// control bounds a control call by CallTimeout unless the caller already
// set a deadline.
func (c *Client) control(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.CallTimeout)
}

// ServerLive reports whether the server process is up.
func (c *Client) ServerLive(ctx context.Context) (bool, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ServerLive(ctx, &pb.ServerLiveRequest{})
	if err != nil {
		return false, c.wrap(ctx, "ServerLive", err)
	}
	return r.GetLive(), nil
}

// ServerReady reports whether the server can take inference requests.
func (c *Client) ServerReady(ctx context.Context) (bool, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ServerReady(ctx, &pb.ServerReadyRequest{})
	if err != nil {
		return false, c.wrap(ctx, "ServerReady", err)
	}
	return r.GetReady(), nil
}

// ServerMetadata is what the server says about itself.
type ServerMetadata struct {
	Name       string
	Version    string
	Extensions []string
}

// ServerMetadata asks the server's name, version and protocol extensions.
func (c *Client) ServerMetadata(ctx context.Context) (ServerMetadata, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ServerMetadata(ctx, &pb.ServerMetadataRequest{})
	if err != nil {
		return ServerMetadata{}, c.wrap(ctx, "ServerMetadata", err)
	}
	return ServerMetadata{Name: r.GetName(), Version: r.GetVersion(), Extensions: r.GetExtensions()}, nil
}

// ModelReady reports whether a model (version "" = as the server's policy
// picks) can take requests. Triton answers a model that is not loaded (or
// still loading, or whose load failed) with ready=false up to r26.06 and
// with NOT_FOUND since core commit 73aad7c (2026-06), which looks the
// model up before asking it; both mean false here.
func (c *Client) ModelReady(ctx context.Context, name, version string) (bool, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ModelReady(ctx, &pb.ModelReadyRequest{Name: name, Version: version})
	if err != nil {
		err = c.wrap(ctx, "ModelReady", err)
		if code := CodeOf(err); code == CodeNotFound || code == CodeModelNotReady {
			return false, nil
		}
		return false, err
	}
	return r.GetReady(), nil
}

// TensorMetadata describes one model input or output. Shape includes the
// batch dimension (-1) when the model batches.
type TensorMetadata struct {
	Name     string
	Datatype string
	Shape    []int64
}

// ModelMetadata is a model's name, versions and tensors.
type ModelMetadata struct {
	Name     string
	Versions []string
	Platform string
	Inputs   []TensorMetadata
	Outputs  []TensorMetadata
}

// ModelMetadata asks for a model's tensors.
func (c *Client) ModelMetadata(ctx context.Context, name, version string) (ModelMetadata, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: name, Version: version})
	if err != nil {
		return ModelMetadata{}, c.wrap(ctx, "ModelMetadata", err)
	}
	conv := func(ts []*pb.ModelMetadataResponse_TensorMetadata) []TensorMetadata {
		out := make([]TensorMetadata, 0, len(ts))
		for _, t := range ts {
			out = append(out, TensorMetadata{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()})
		}
		return out
	}
	return ModelMetadata{
		Name: r.GetName(), Versions: r.GetVersions(), Platform: r.GetPlatform(),
		Inputs: conv(r.GetInputs()), Outputs: conv(r.GetOutputs()),
	}, nil
}

// ModelConfig asks for a model's configuration (the fields our
// model_config.proto keeps).
func (c *Client) ModelConfig(ctx context.Context, name, version string) (*pb.ModelConfig, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ModelConfig(ctx, &pb.ModelConfigRequest{Name: name, Version: version})
	if err != nil {
		return nil, c.wrap(ctx, "ModelConfig", err)
	}
	return r.GetConfig(), nil
}

// ModelStatistics asks for per-model counters; name "" means every model.
func (c *Client) ModelStatistics(ctx context.Context, name, version string) ([]*pb.ModelStatistics, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: name, Version: version})
	if err != nil {
		return nil, c.wrap(ctx, "ModelStatistics", err)
	}
	return r.GetModelStats(), nil
}

// ModelIndex is one entry of the server's model repository.
type ModelIndex struct {
	Name    string
	Version string
	State   string // e.g. READY, LOADING, UNAVAILABLE
	Reason  string
}

// RepositoryIndex lists the models the server knows; readyOnly keeps only
// those ready for requests.
func (c *Client) RepositoryIndex(ctx context.Context, readyOnly bool) ([]ModelIndex, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: readyOnly})
	if err != nil {
		return nil, c.wrap(ctx, "RepositoryIndex", err)
	}
	out := make([]ModelIndex, 0, len(r.GetModels()))
	for _, m := range r.GetModels() {
		out = append(out, ModelIndex{Name: m.GetName(), Version: m.GetVersion(), State: m.GetState(), Reason: m.GetReason()})
	}
	return out, nil
}
