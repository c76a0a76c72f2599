package tritontest_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// TestFaultPlanIsWhatTheServerDoes: the plan tests compute attempt counts
// from is the sequence the server deals, for failures and drops alike.
func TestFaultPlanIsWhatTheServerDoes(t *testing.T) {
	const n = 40
	plan := tritontest.FaultPlan(11, 0.3, 0.2, n)
	var fails, drops int
	for _, f := range plan {
		switch f {
		case tritontest.FaultUnavailable:
			fails++
		case tritontest.FaultDrop:
			drops++
		}
	}
	if fails == 0 || drops == 0 || fails+drops == n {
		t.Fatalf("plan %v has %d failures and %d drops: the seed should give some of each", plan, fails, drops)
	}
	addr := tritontest.Start(t, tritontest.Options{FailRate: 0.3, DropRate: 0.2, Seed: 11})
	req := audioRequest(make([]float32, 160))
	for i, want := range plan {
		// A fresh connection per request: a drop closes the one it used.
		c, _ := dial(t, addr)
		_, err := c.ModelInfer(ctx(t), req)
		got := tritontest.FaultNone
		switch {
		case err == nil:
		case code(err) == codes.Unavailable && want == tritontest.FaultUnavailable && containsText(err, "injected failure"):
			got = tritontest.FaultUnavailable
		case code(err) == codes.Unavailable:
			got = tritontest.FaultDrop // the client sees the connection go
		default:
			t.Fatalf("request %d: %v", i, err)
		}
		if got != want {
			t.Fatalf("request %d: fault %v, plan says %v (err %v)", i, got, want, err)
		}
	}
	if p := tritontest.FaultPlan(11, 0.3, 0, 10); len(p) != 10 {
		t.Fatal("plan length")
	}
	if p := tritontest.FaultPlan(1, 0, 0, 3); p[0] != tritontest.FaultNone || p[2] != tritontest.FaultNone {
		t.Fatal("no faults asked, faults planned")
	}
}

func containsText(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

func TestDropConnectionsMidCall(t *testing.T) {
	// The calls would be answered after a minute: only the drop ends them.
	arrived := make(chan struct{}, 3)
	srv, addr := tritontest.StartServer(t, tritontest.Options{Latency: time.Minute,
		Inspect: func(context.Context, *pb.ModelInferRequest) { arrived <- struct{}{} }})
	c, _ := dial(t, addr)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := c.ModelInfer(ctx(t), audioRequest(make([]float32, 160)))
			errs <- err
		}()
	}
	// Wait until the calls reached the server, then cut the connection.
	for range 3 {
		select {
		case <-arrived:
		case err := <-errs:
			t.Fatalf("a call ended before the drop: %v", err)
		}
	}
	if n := srv.DropConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want the client's one", n)
	}
	for range 3 {
		select {
		case err := <-errs:
			if code(err) != codes.Unavailable {
				t.Errorf("call on a dropped connection: %v, want UNAVAILABLE", err)
			}
		case <-time.After(5 * time.Second): // before ctx's 10 s
			t.Fatal("calls on a dropped connection did not end")
		}
	}
	// The server still listens: a new call connects again.
	if _, err := c.ServerLive(ctx(t), &pb.ServerLiveRequest{}); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
}

func TestProcessRestartsOnTheSamePort(t *testing.T) {
	p := tritontest.StartProcess(t, tritontest.Options{})
	c, _ := dial(t, p.Addr())
	if _, err := c.ModelInfer(ctx(t), audioRequest(make([]float32, 160))); err != nil {
		t.Fatal(err)
	}
	first := p.Server()
	p.Stop()
	if p.Running() {
		t.Fatal("running after Stop")
	}
	if _, err := c.ServerLive(ctx(t), &pb.ServerLiveRequest{}); code(err) != codes.Unavailable {
		t.Fatalf("stopped server answered: %v", err)
	}
	p.Stop() // twice is fine
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if p.Server() == first {
		t.Error("a restart serves a fresh server")
	}
	deadline := time.Now().Add(15 * time.Second) // gRPC's reconnect backoff, on a loaded machine
	for {
		_, err := c.ServerLive(ctx(t), &pb.ServerLiveRequest{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client did not reconnect after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := c.ModelStatistics(ctx(t), &pb.ModelStatisticsRequest{Name: "dtmf"})
	if err != nil || st.ModelStats[0].InferenceCount != 0 {
		t.Errorf("statistics after a restart: %v, %v (want counted from zero)", st, err)
	}
	if err := p.Restart(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// TestDynamicBatcher: requests that arrive together execute together, up
// to the batch size; statistics count requests and executions apart. The
// window is long enough for all ten to arrive on a loaded machine: full
// batches go at once, only the last waits it out.
func TestDynamicBatcher(t *testing.T) {
	const window = 2 * time.Second
	srv, addr := tritontest.StartServer(t, tritontest.Options{
		Batching: &tritontest.Batching{MaxBatch: 4, Window: window, Latency: 50 * time.Millisecond},
	})
	c, _ := dial(t, addr)
	cfg, err := c.ModelConfig(ctx(t), &pb.ModelConfigRequest{Name: "dtmf"})
	if err != nil || cfg.Config.GetDynamicBatching().GetMaxQueueDelayMicroseconds() != uint64(window/time.Microsecond) {
		t.Fatalf("config does not show the batcher: %v, %v", cfg, err)
	}
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '5', Start: 0.1, End: 0.3}}, sr, 0.5, dtmf.SynthOptions{})
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 10 {
		wg.Go(func() {
			resp, err := c.ModelInfer(ctx(t), audioRequest(clip))
			if err != nil || output(t, resp, "TRANSCRIPT")[0] != "5" {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d requests failed or were misheard", bad.Load())
	}
	st, err := c.ModelStatistics(ctx(t), &pb.ModelStatisticsRequest{Name: "dtmf"})
	if err != nil {
		t.Fatal(err)
	}
	ms := st.ModelStats[0]
	// 10 requests arriving within the window: 4 + 4 + 2.
	if ms.InferenceCount != 10 || ms.ExecutionCount != 3 {
		t.Errorf("inference_count %d, execution_count %d; want 10 and 3", ms.InferenceCount, ms.ExecutionCount)
	}
	sizes := map[uint64]uint64{}
	for _, b := range ms.BatchStats {
		sizes[b.BatchSize] = b.ComputeInfer.Count
	}
	if sizes[4] != 2 || sizes[2] != 1 || len(sizes) != 2 {
		t.Errorf("batch_stats %v, want two of 4 and one of 2", sizes)
	}
	if ms.InferenceStats.Success.Count != 10 || ms.InferenceStats.ComputeInfer.Ns < uint64(10*50*time.Millisecond) {
		t.Errorf("inference stats %v", ms.InferenceStats)
	}
	_ = srv
}

// TestBatcherCapacity: with compute skipped and a full queue, the batcher
// runs MaxBatch requests per Latency, and a bounded queue refuses the
// excess as Triton does.
func TestBatcherCapacity(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{
		Models:   []tritontest.Model{tritontest.DTMFWith(tritontest.DTMFOptions{SkipCompute: true})},
		Batching: &tritontest.Batching{MaxBatch: 8, Latency: 20 * time.Millisecond, MaxQueue: 16},
	})
	c, _ := dial(t, addr)
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '5', Start: 0.1, End: 0.3}}, sr, 0.5, dtmf.SynthOptions{})
	var wg sync.WaitGroup
	var ok, full atomic.Int32
	for range 40 {
		wg.Go(func() {
			resp, err := c.ModelInfer(ctx(t), audioRequest(clip))
			switch {
			case err == nil && output(t, resp, "TRANSCRIPT")[0] == "":
				ok.Add(1)
			case code(err) == codes.Unavailable && containsText(err, "Exceeds maximum queue size"):
				full.Add(1)
			default:
				t.Errorf("%v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load()+full.Load() != 40 || ok.Load() < 16 {
		t.Errorf("%d answered, %d refused for a full queue", ok.Load(), full.Load())
	}
	st, err := c.ModelStatistics(ctx(t), &pb.ModelStatisticsRequest{Name: "dtmf"})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.ModelStats[0]; ms.ExecutionCount*8 < ms.InferenceCount || ms.InferenceCount != uint64(ok.Load()) {
		t.Errorf("%d requests in %d executions", ms.InferenceCount, ms.ExecutionCount)
	}
}

// TestBatcherCancelledRequest: a request whose caller gives up while
// queued is not executed, and the batcher goes on.
func TestBatcherCancelledRequest(t *testing.T) {
	arrived := make(chan struct{}, 1)
	addr := tritontest.Start(t, tritontest.Options{Batching: &tritontest.Batching{MaxBatch: 1, Latency: 300 * time.Millisecond},
		Inspect: func(context.Context, *pb.ModelInferRequest) {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}})
	c, _ := dial(t, addr)
	req := audioRequest(make([]float32, 160))
	go c.ModelInfer(ctx(t), req) // occupies the instance
	<-arrived
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.ModelInfer(short, req); code(err) != codes.DeadlineExceeded {
		t.Fatalf("queued request past its deadline: %v", err)
	}
	if _, err := c.ModelInfer(ctx(t), req); err != nil {
		t.Fatalf("batcher stuck after a cancelled request: %v", err)
	}
}
