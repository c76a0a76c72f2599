// Package triton is NeMo Transcribe's client for NVIDIA Triton Inference
// Server's gRPC protocol (KServe v2). It is the only package of the app that
// speaks gRPC; callers see plain Go types and *Error.
package triton

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Config says how to reach one server.
type Config struct {
	Addr string // host:port of Triton's gRPC endpoint (Triton's default port is 8001)

	// CallTimeout bounds each control call (health, metadata, statistics)
	// whose context has no deadline of its own. Default 10 s.
	CallTimeout time.Duration

	// MaxMessageBytes bounds messages both ways. Default: Triton's own
	// limit, 2 GiB - 1 (grpc-go's 4 MiB receive default is far too small
	// for batched outputs).
	MaxMessageBytes int
}

const defaultCallTimeout = 10 * time.Second

// Client is a connection to one Triton server. One Client multiplexes any
// number of concurrent calls; it is safe for concurrent use.
type Client struct {
	cfg  Config
	conn *grpc.ClientConn
	rpc  pb.GRPCInferenceServiceClient
}

// New prepares a connection. It does not wait for the server: the first call
// connects, and reports an unreachable server as CodeUnavailable.
func New(cfg Config) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("triton: no server address")
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = defaultCallTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = math.MaxInt32
	}
	conn, err := grpc.NewClient(cfg.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
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
	)
	if err != nil {
		return nil, fmt.Errorf("triton: server address %q: %w", cfg.Addr, err)
	}
	return &Client{cfg: cfg, conn: conn, rpc: pb.NewGRPCInferenceServiceClient(conn)}, nil
}

// Addr is the address the client was configured with.
func (c *Client) Addr() string { return c.cfg.Addr }

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
// picks) can take requests.
func (c *Client) ModelReady(ctx context.Context, name, version string) (bool, error) {
	ctx, cancel := c.control(ctx)
	defer cancel()
	r, err := c.rpc.ModelReady(ctx, &pb.ModelReadyRequest{Name: name, Version: version})
	if err != nil {
		return false, c.wrap(ctx, "ModelReady", err)
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
