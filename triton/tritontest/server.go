// Package tritontest is a Triton Inference Server for tests: it speaks
// Triton's gRPC protocol (package inference, service GRPCInferenceService)
// with Triton's validation rules and status codes, and hosts small models
// whose answers are known exactly, by default the "dtmf" model that
// transcribes DTMF key presses.
//
// Tests start it in-process over real TCP with Start (or StartProcess for a
// server that can be restarted on the same port); cmd/triton-devserver
// serves it on a port for manual runs and outside checks. Options add the
// faults real networks have: latency, random UNAVAILABLE answers,
// connections dropped in the middle of a call, a loading period, TLS, and a
// dynamic batcher that executes requests together as Triton's does.
package tritontest

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Version is the version ServerMetadata reports.
const Version = "2.59.0-tritontest"

// modelVersion is the only version of every hosted model.
const modelVersion = "1"

// extensions are the protocol extensions this server implements.
var extensions = []string{"model_repository", "model_configuration", "parameters", "statistics"}

// Options configure a Server. The zero value hosts the dtmf model with no
// latency, no failures and no loading period.
type Options struct {
	// Latency delays every inference request (ModelInfer and each request
	// on ModelStreamInfer) before it is answered. It counts as queue time.
	Latency time.Duration
	// FailRate is the fraction of inference requests answered UNAVAILABLE
	// instead of being run (0 to 1). They count as failures.
	FailRate float64
	// DropRate is the fraction of inference requests during which the
	// server closes the connection that carries them, as a crashed proxy
	// or a broken network would: every call on that connection fails.
	// They count as failures. FailRate + DropRate is at most 1.
	DropRate float64
	// ReadyAfter keeps every model LOADING for this long after New: it is
	// not ready, and inference is answered UNAVAILABLE.
	ReadyAfter time.Duration
	// Seed makes FailRate's and DropRate's choices repeatable: the same
	// seed fails the same requests in order of arrival (see FaultPlan). 0
	// picks a random seed.
	Seed int64
	// Models to host; nil hosts DTMF() alone.
	Models []Model
	// Batching, when set, puts a dynamic batcher in front of every model
	// that batches (max_batch_size > 0).
	Batching *Batching
	// TLS, when set, serves TLS with this configuration (see
	// LoadServerTLS); ClientAuth in it asks for client certificates.
	TLS *tls.Config
	// MaxMessageBytes, when set, lowers the largest message the server
	// takes from Triton's 2 GiB, as a gateway in front of it may: bigger
	// requests are refused RESOURCE_EXHAUSTED by gRPC itself.
	MaxMessageBytes int
	// Inspect, when set, sees every inference request as it arrives,
	// before any fault: tests read its parameters and metadata here.
	Inspect func(ctx context.Context, req *pb.ModelInferRequest)
	// CancelRate is the fraction of inference requests answered
	// CANCELLED, as a proxy or a server shutting down answers calls it
	// gives up on. They count as failures. FailRate + DropRate +
	// CancelRate is at most 1; draws come after FailRate's and DropRate's.
	CancelRate float64

	// Unloaded names hosted models that start on disk but not loaded, as
	// with --model-control-mode=explicit and no --load-model for them: the
	// index lists only their names, every other call answers NOT_FOUND
	// until RepositoryModelLoad loads them.
	Unloaded []string
	// OnDisk names folders of the repository that are no model this
	// server can load (shared code, a broken model): listed by name in
	// the index, NOT_FOUND everywhere else, and loading them fails.
	OnDisk []string
	// LoadFailures makes loading hosted models fail: name -> Triton's
	// reason. Such a model is UNAVAILABLE with that reason from the start.
	LoadFailures map[string]string
	// LegacyModelReady answers ModelReady as Triton did up to r26.06:
	// OK with ready=false for a model that is not ready or not known.
	// Otherwise it answers as current Triton (core commit 73aad7c): the
	// model is looked up first, so such a model is NOT_FOUND.
	LegacyModelReady bool
	// Namespacing answers an unknown model name INVALID_ARGUMENT, as
	// Triton does with --model-namespacing=true; NOT_FOUND otherwise.
	Namespacing bool
}

// Server is a Triton test server. Create it with New and run it with Serve.
type Server struct {
	pb.UnimplementedGRPCInferenceServiceServer

	opts   Options
	grpc   *grpc.Server
	health *health.Server
	models map[string]*hosted
	names  []string // hosted models, sorted
	onDisk map[string]bool
	index  []string // every name the repository index lists, sorted

	failMu sync.Mutex
	rng    *rand.Rand

	conns *connTracker
}

// New returns a server for opts. It panics if two models share a name or a
// model has none, as those are mistakes in the test itself.
func New(opts Options) *Server {
	if opts.Models == nil {
		opts.Models = []Model{DTMF()}
	}
	opts.FailRate = min(max(opts.FailRate, 0), 1)
	opts.DropRate = min(max(opts.DropRate, 0), 1-opts.FailRate)
	opts.CancelRate = min(max(opts.CancelRate, 0), 1-opts.FailRate-opts.DropRate)
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Server{
		opts:   opts,
		models: make(map[string]*hosted),
		rng:    faultRand(seed),
		onDisk: map[string]bool{},
		health: health.NewServer(),
		conns:  newConnTracker(),
	}
	readyAt := time.Now().Add(opts.ReadyAfter)
	for _, m := range opts.Models {
		h := newHosted(m, readyAt, opts.Batching)
		name := h.cfg.GetName()
		if name == "" {
			panic("tritontest: a model's config has no name")
		}
		if _, dup := s.models[name]; dup {
			panic(fmt.Sprintf("tritontest: two models named %q", name))
		}
		s.models[name] = h
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	for _, name := range opts.Unloaded {
		if h, ok := s.models[name]; ok {
			h.onDisk = true
		}
	}
	for name, why := range opts.LoadFailures {
		if h, ok := s.models[name]; ok {
			h.loadError = why
		}
	}
	s.index = slices.Clone(s.names)
	for _, name := range opts.OnDisk {
		if _, hosted := s.models[name]; !hosted && !s.onDisk[name] {
			s.onDisk[name] = true
			s.index = append(s.index, name)
		}
	}
	slices.Sort(s.index)

	serverOpts := []grpc.ServerOption{
		// Triton's limits: INT32_MAX both ways, and its keepalive policy
		// (no pings more often than every 5 minutes, none without calls).
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Minute}),
		// Flow control as Triton's C++ gRPC sees a request: a stream
		// reading a message announces the window that message needs, up
		// to 1 MiB at once (kMaxWindowDelta, SetMinProgressSize in
		// grpc/grpc src/core/ext/transport/chttp2/transport/
		// flow_control.h). grpc-go's default, 64 KiB windows grown by
		// BDP probes, made a fresh connection's first requests (16
		// chunks of 350 kB at once) crawl for 100 ms on two busy cores.
		grpc.InitialWindowSize(1 << 20),
		grpc.InitialConnWindowSize(16 << 20),
	}
	if opts.TLS != nil {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	if opts.MaxMessageBytes > 0 {
		serverOpts = append(serverOpts, grpc.MaxRecvMsgSize(opts.MaxMessageBytes))
	}
	s.grpc = grpc.NewServer(serverOpts...)
	pb.RegisterGRPCInferenceServiceServer(s.grpc, s)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus("inference.GRPCInferenceService", healthpb.HealthCheckResponse_SERVING)
	return s
}

// Models returns the names of the hosted models, sorted.
func (s *Server) Models() []string { return slices.Clone(s.names) }

// Serve accepts connections on lis until Stop or GracefulStop; it returns
// nil after those.
func (s *Server) Serve(lis net.Listener) error { return s.grpc.Serve(s.conns.wrap(lis)) }

// Stop closes every connection and listener at once.
func (s *Server) Stop() {
	s.health.Shutdown()
	s.grpc.Stop()
	s.stopBatchers()
}

// GracefulStop stops accepting calls and waits for those in flight.
func (s *Server) GracefulStop() {
	s.health.Shutdown()
	s.grpc.GracefulStop()
	s.stopBatchers()
}

func (s *Server) stopBatchers() {
	for _, h := range s.models {
		if h.batcher != nil {
			h.batcher.stop()
		}
	}
}

// DropConnections closes every client connection at once, in the middle
// of whatever calls they carry, as a network failure would. The server
// keeps listening: clients connect again.
func (s *Server) DropConnections() int { return s.conns.closeAll() }

// StopWithin stops gracefully but gives up waiting after d and closes
// whatever is still open.
func (s *Server) StopWithin(d time.Duration) {
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		s.grpc.Stop()
		<-done
	}
}

// unknownModel is Triton's answer for a model name it has not loaded:
// NOT_FOUND from the model lifecycle (model_lifecycle.cc), or
// INVALID_ARGUMENT from the name lookup when namespacing is on
// (model_repository_manager.cc, FindModelIdentifier).
func (s *Server) unknownModel(name string) error {
	code := codes.NotFound
	if s.opts.Namespacing {
		code = codes.InvalidArgument
	}
	return status.Errorf(code, "Request for unknown model: '%s' is not found", name)
}

// lookup finds a model and checks the requested version ("" is the
// latest, and every model here has only version 1). A model on disk that
// was never loaded is unknown, as in Triton's lifecycle map.
func (s *Server) lookup(name, version string) (*hosted, error) {
	h, ok := s.models[name]
	if ok {
		if st, _ := h.state(); st == "" {
			ok = false
		}
	}
	if !ok {
		return nil, s.unknownModel(name)
	}
	if version != "" && version != modelVersion {
		if _, err := strconv.ParseInt(version, 10, 64); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "failed to parse model version '%s' for model '%s'", version, name)
		}
		return nil, status.Errorf(codes.NotFound, "Request for unknown model: '%s' version %s is not found", name, version)
	}
	return h, nil
}

// lookupReady is lookup for calls that need a ready model, with Triton's
// answers for one that is not (ModelLifeCycle::GetModel): asked for the
// latest version, NOT_FOUND "has no available versions" (loading, load
// failed, unloaded); asked for a version, UNAVAILABLE.
func (s *Server) lookupReady(name, version string) (*hosted, error) {
	h, err := s.lookup(name, version)
	if err != nil {
		return nil, err
	}
	if st, _ := h.state(); st != stateReady {
		if version == "" {
			return nil, status.Errorf(codes.NotFound, "Request for unknown model: '%s' has no available versions", name)
		}
		return nil, status.Errorf(codes.Unavailable, "Request for unknown model: '%s' version %s is not at ready state", name, version)
	}
	return h, nil
}

// drawFault picks the fault, if any, for the next inference request.
func (s *Server) drawFault() Fault {
	if s.opts.FailRate <= 0 && s.opts.DropRate <= 0 && s.opts.CancelRate <= 0 {
		return FaultNone
	}
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return pickFault(s.rng.Float64(), s.opts.FailRate, s.opts.DropRate, s.opts.CancelRate)
}

func (s *Server) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

// ServerReady is true when every model that was loaded is ready, as
// Triton's default strict readiness has it (server.cc, IsReady): models
// never loaded and models unloaded on request do not count.
func (s *Server) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	for _, h := range s.models {
		if st, reason := h.state(); st != stateReady && st != "" && reason != "unloaded" {
			return &pb.ServerReadyResponse{Ready: false}, nil
		}
	}
	return &pb.ServerReadyResponse{Ready: true}, nil
}

// ModelReady looks the model up first, as current Triton does
// (tritonserver.cc, TRITONSERVER_ServerModelIsReady since core commit
// 73aad7c): a model that is not loaded, or not ready, is an error, the
// one the other model calls give. With LegacyModelReady it answers
// ready=false instead, as Triton did before.
func (s *Server) ModelReady(_ context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	_, err := s.lookupReady(req.GetName(), req.GetVersion())
	switch {
	case err == nil:
		return &pb.ModelReadyResponse{Ready: true}, nil
	case s.opts.LegacyModelReady:
		return &pb.ModelReadyResponse{Ready: false}, nil
	}
	return nil, err
}

func (s *Server) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: "triton", Version: Version, Extensions: slices.Clone(extensions)}, nil
}

func (s *Server) ModelMetadata(_ context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	h, err := s.lookupReady(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return proto.Clone(h.meta).(*pb.ModelMetadataResponse), nil
}

func (s *Server) ModelConfig(_ context.Context, req *pb.ModelConfigRequest) (*pb.ModelConfigResponse, error) {
	h, err := s.lookupReady(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &pb.ModelConfigResponse{Config: proto.Clone(h.cfg).(*pb.ModelConfig)}, nil
}

// ModelStatistics reports one model, or with an empty name every ready
// model, sorted by name.
func (s *Server) ModelStatistics(_ context.Context, req *pb.ModelStatisticsRequest) (*pb.ModelStatisticsResponse, error) {
	resp := &pb.ModelStatisticsResponse{}
	if req.GetName() == "" {
		for _, name := range s.names {
			h := s.models[name]
			if st, _ := h.state(); st == stateReady {
				resp.ModelStats = append(resp.ModelStats, h.stats.snapshot())
			}
		}
		return resp, nil
	}
	h, err := s.lookupReady(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	resp.ModelStats = append(resp.ModelStats, h.stats.snapshot())
	return resp, nil
}

// RepositoryIndex lists every folder of the repository, as Triton does:
// a loaded (or loading, or failed) model with its version and state, one
// that was never loaded by its name alone; with ready set only the ready
// ones. The repository name is not checked.
func (s *Server) RepositoryIndex(_ context.Context, req *pb.RepositoryIndexRequest) (*pb.RepositoryIndexResponse, error) {
	resp := &pb.RepositoryIndexResponse{}
	for _, name := range s.index {
		st, reason := "", ""
		if h, ok := s.models[name]; ok {
			st, reason = h.state()
		}
		if req.GetReady() && st != stateReady {
			continue
		}
		entry := &pb.RepositoryIndexResponse_ModelIndex{Name: name}
		if st != "" {
			entry.Version, entry.State, entry.Reason = modelVersion, st, reason
		}
		resp.Models = append(resp.Models, entry)
	}
	return resp, nil
}

// RepositoryModelLoad (re)loads a hosted model and, as Triton does, returns
// once it is ready: after the rest of the ReadyAfter period if that has not
// passed yet. There is no repository to load new models from.
func (s *Server) RepositoryModelLoad(ctx context.Context, req *pb.RepositoryModelLoadRequest) (*pb.RepositoryModelLoadResponse, error) {
	name := req.GetModelName()
	h, ok := s.models[name]
	if !ok {
		// Triton polls the repository for the model's folder and config
		// first (model_repository_manager.cc).
		return nil, status.Errorf(codes.InvalidArgument, "failed to load '%s', failed to poll from model repository", name)
	}
	wait, err := h.load()
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "load failed for model '%s': version %s is at UNAVAILABLE state: %v;\n", name, modelVersion, err)
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}
	return &pb.RepositoryModelLoadResponse{}, nil
}

// RepositoryModelUnload makes a hosted model UNAVAILABLE until it is loaded
// again; its statistics are kept.
func (s *Server) RepositoryModelUnload(_ context.Context, req *pb.RepositoryModelUnloadRequest) (*pb.RepositoryModelUnloadResponse, error) {
	h, ok := s.models[req.GetModelName()]
	if !ok {
		if s.onDisk[req.GetModelName()] {
			return &pb.RepositoryModelUnloadResponse{}, nil // nothing loaded: nothing to do
		}
		return nil, status.Errorf(codes.NotFound, "failed to unload '%s': no such model in the repository", req.GetModelName())
	}
	h.unload()
	return &pb.RepositoryModelUnloadResponse{}, nil
}

func (s *Server) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	h, err := s.lookupReady(req.GetModelName(), req.GetModelVersion())
	if err != nil {
		return nil, err
	}
	if h.cfg.GetModelTransactionPolicy().GetDecoupled() {
		return nil, status.Errorf(codes.Unimplemented, "ModelInfer RPC doesn't support models with decoupled transaction policy; use ModelStreamInfer for model '%s'", h.cfg.GetName())
	}
	return s.infer(ctx, h, req)
}

// ModelStreamInfer answers the requests of a stream one after another, in
// order. A request that fails is answered with its error in error_message
// (and its id in infer_response) and the stream stays open.
func (s *Server) ModelStreamInfer(stream grpc.BidiStreamingServer[pb.ModelInferRequest, pb.ModelStreamInferResponse]) error {
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			return nil // io.EOF: the client closed its side
		}
		var resp *pb.ModelInferResponse
		h, err := s.lookupReady(req.GetModelName(), req.GetModelVersion())
		if err == nil {
			resp, err = s.infer(ctx, h, req)
		}
		msg := &pb.ModelStreamInferResponse{InferResponse: resp}
		if err != nil {
			msg = &pb.ModelStreamInferResponse{
				ErrorMessage: status.Convert(err).Message(),
				InferResponse: &pb.ModelInferResponse{
					ModelName: req.GetModelName(), ModelVersion: req.GetModelVersion(), Id: req.GetId(),
				},
			}
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

// infer runs one inference request on a ready model: fault injection,
// validation, execution and output selection, recording statistics.
func (s *Server) infer(ctx context.Context, h *hosted, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	arrived := time.Now()
	if s.opts.Inspect != nil {
		s.opts.Inspect(ctx, req)
	}
	fault := s.drawFault()
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			h.stats.failure(arrived)
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}
	switch fault {
	case FaultUnavailable:
		h.stats.failure(arrived)
		return nil, status.Errorf(codes.Unavailable, "injected failure: model '%s' is unavailable (fail rate %g)", h.cfg.GetName(), s.opts.FailRate)
	case FaultDrop:
		h.stats.failure(arrived)
		s.conns.closePeer(ctx)
		return nil, status.Errorf(codes.Unavailable, "injected connection drop (drop rate %g)", s.opts.DropRate)
	case FaultCanceled:
		h.stats.failure(arrived)
		return nil, status.Errorf(codes.Canceled, "injected cancellation: the request was cancelled (cancel rate %g)", s.opts.CancelRate)
	}

	var t timing
	t.queue = time.Since(arrived)
	mark := time.Now()
	inputs, params, want, batch, err := h.prepare(req)
	if err != nil {
		h.stats.failure(arrived)
		return nil, err
	}
	t.input, mark = time.Since(mark), time.Now()
	if h.batcher != nil {
		return h.batcher.submit(ctx, &batchJob{
			req: req, inputs: inputs, params: params, want: want, size: batch,
			arrived: arrived, input: t.input, done: make(chan batchResult, 1),
		})
	}
	outputs, err := h.model.Execute(ctx, inputs, params)
	if err != nil {
		h.stats.failure(arrived)
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	t.infer, mark = time.Since(mark), time.Now()
	resp, err := h.response(req, outputs, want)
	if err != nil {
		h.stats.failure(arrived)
		return nil, err
	}
	t.output = time.Since(mark)
	h.stats.success(arrived, batch, t)
	h.stats.execution(batch, t)
	return resp, nil
}
