package inference

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// fastRetry keeps the waits of retry tests short; the attempt counts are
// what the default policy would make.
var fastRetry = RetryPolicy{Attempts: 10, Delay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond}

func connectConfig(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.ReconnectDelay == 0 {
		cfg.ReconnectDelay = 10 * time.Millisecond
	}
	s, err := ConnectConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func open(t *testing.T, s *Server, name string) *Model {
	t.Helper()
	m, err := s.OpenModel(testCtx(t), name, WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dtmfJob is a 30 s recording of key presses cut into six 5 s chunks, the
// cuts in the silences between presses, as the engine's chunker would.
type dtmfJob struct {
	presses []dtmf.Press
	chunks  [][]float32
	offsets []float64 // seconds
}

func newDTMFJob() dtmfJob {
	const chunkSec, nChunks = 5.0, 6
	var presses []dtmf.Press
	keys := []rune(dtmf.Keys)
	for c := range nChunks {
		for k := range 4 {
			start := float64(c)*chunkSec + 0.4 + float64(k)*1.1
			presses = append(presses, dtmf.Press{Key: keys[(c*4+k)%len(keys)], Start: start, End: start + 0.25})
		}
	}
	audio := dtmf.Synthesize(presses, models.SampleRate, chunkSec*nChunks, dtmf.SynthOptions{NoiseDB: -30, Seed: 4})
	j := dtmfJob{presses: presses}
	n := int(chunkSec * models.SampleRate)
	for c := range nChunks {
		j.chunks = append(j.chunks, audio[c*n:(c+1)*n])
		j.offsets = append(j.offsets, float64(c)*chunkSec)
	}
	return j
}

// check compares what came back, shifted to file time, with the presses.
func (j dtmfJob) check(t *testing.T, results []transcript.ChunkResult) {
	t.Helper()
	var words []transcript.Word
	for c, r := range results {
		for _, w := range r.Words {
			w.Start += j.offsets[c]
			w.End += j.offsets[c]
			words = append(words, w)
		}
	}
	if len(words) != len(j.presses) {
		t.Fatalf("heard %d presses, want %d: %v", len(words), len(j.presses), words)
	}
	for i, p := range j.presses {
		w := words[i]
		if w.Word != string(p.Key) || math.Abs(w.Start-p.Start) > 0.02 || math.Abs(w.End-p.End) > 0.02 {
			t.Errorf("press %d: heard %q %.3f..%.3f, want %q %.3f..%.3f", i, w.Word, w.Start, w.End, string(p.Key), p.Start, p.End)
		}
	}
}

// plannedAttempts walks a fault plan: the attempts each of n chunks sent
// one after another needs, and the faults in all.
func plannedAttempts(t *testing.T, plan []tritontest.Fault, n int) (perChunk []int, faults int) {
	t.Helper()
	i := 0
	for range n {
		a := 0
		for {
			if i >= len(plan) {
				t.Fatal("plan too short")
			}
			a++
			f := plan[i]
			i++
			if f == tritontest.FaultNone {
				break
			}
			faults++
		}
		perChunk = append(perChunk, a)
	}
	return perChunk, faults
}

// retryLog records OnRetry events.
type retryLog struct {
	mu     sync.Mutex
	events []RetryEvent
}

func (l *retryLog) add(e RetryEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *retryLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// TestFlakyServerLosesNothing: with 30 % of requests failing, every chunk
// of a multi-chunk DTMF recording comes back exactly, and the attempts
// are exactly those the server's seeded faults call for.
func TestFlakyServerLosesNothing(t *testing.T) {
	const seed = 10
	j := newDTMFJob()
	perChunk, faults := plannedAttempts(t, tritontest.FaultPlan(seed, 0.3, 0, 100), len(j.chunks))
	if faults < 3 {
		t.Fatalf("seed %d gives only %d failures: pick a seed that tests something", seed, faults)
	}
	addr := tritontest.Start(t, tritontest.Options{FailRate: 0.3, Seed: seed})
	s := connectConfig(t, Config{Addresses: []string{addr}, Retry: fastRetry})
	m := open(t, s, "dtmf")
	j.check(t, recognizeInOrder(t, m, j.chunks, perChunk, func(c, k int, e RetryEvent) {
		if e.Chunk != c || e.Attempt != k+1 || e.Attempts != 10 || apperr.CodeOf(e.Err) != apperr.CodeServer ||
			!strings.Contains(apperr.Message(e.Err), "injected failure") {
			t.Errorf("chunk %d retry %d: %+v", c, k, e)
		}
	}))
	st, err := s.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.Models[0]; ms.FailureCount != uint64(faults) || ms.SuccessCount != uint64(len(j.chunks)) {
		t.Errorf("server counted %d failures and %d successes, want %d and %d", ms.FailureCount, ms.SuccessCount, faults, len(j.chunks))
	}
}

// TestFlakyServerConcurrent: the same with the chunks in flight together;
// the total of attempts is still exact (the plan is dealt in arrival order).
func TestFlakyServerConcurrent(t *testing.T) {
	const seed = 16
	j := newDTMFJob()
	_, faults := plannedAttempts(t, tritontest.FaultPlan(seed, 0.3, 0, 100), len(j.chunks))
	addr := tritontest.Start(t, tritontest.Options{FailRate: 0.3, Seed: seed})
	s := connectConfig(t, Config{Addresses: []string{addr}, Retry: fastRetry})
	m := open(t, s, "dtmf")
	results := make([]transcript.ChunkResult, len(j.chunks))
	var log retryLog
	var wg sync.WaitGroup
	for c := range j.chunks {
		wg.Go(func() {
			r, err := m.Recognize(testCtx(t), c, j.chunks[c], Options{Timestamps: true, OnRetry: log.add})
			if err != nil {
				t.Errorf("chunk %d: %v", c, err)
			}
			results[c] = r
		})
	}
	wg.Wait()
	j.check(t, results)
	if log.len() != faults {
		t.Errorf("%d retries, the fault plan has %d failures", log.len(), faults)
	}
}

// TestDroppedConnectionsLoseNothing: connections cut in the middle of
// calls cost one attempt each.
func TestDroppedConnectionsLoseNothing(t *testing.T) {
	const seed = 8
	j := newDTMFJob()
	perChunk, faults := plannedAttempts(t, tritontest.FaultPlan(seed, 0, 0.3, 100), len(j.chunks))
	if faults < 2 {
		t.Fatalf("seed %d gives only %d drops", seed, faults)
	}
	addr := tritontest.Start(t, tritontest.Options{DropRate: 0.3, Seed: seed})
	s := connectConfig(t, Config{Addresses: []string{addr}, Retry: fastRetry})
	m := open(t, s, "dtmf")
	j.check(t, recognizeInOrder(t, m, j.chunks, perChunk, nil))
}

// TestServerRestartMidJob: a server that dies between chunks and one that
// dies under a call both cost one retry, not the job.
func TestServerRestartMidJob(t *testing.T) {
	for _, underCall := range []bool{false, true} {
		name := map[bool]string{false: "between chunks", true: "under a call"}[underCall]
		t.Run(name, func(t *testing.T) {
			j := newDTMFJob()
			var arrivals atomic.Int32
			var p *tritontest.Process
			opts := tritontest.Options{}
			if underCall {
				opts.Latency = 200 * time.Millisecond
				opts.Inspect = func(context.Context, *pb.ModelInferRequest) {
					if arrivals.Add(1) == 3 { // the third chunk: kill the server under it
						go p.Stop()
					}
				}
			}
			p = tritontest.StartProcess(t, opts)
			// The wait before a retry is longer than the client's reconnect
			// delay, so the second attempt finds the server back.
			s := connectConfig(t, Config{Addresses: []string{p.Addr()},
				Retry: RetryPolicy{Delay: 300 * time.Millisecond}, ReconnectDelay: 5 * time.Millisecond})
			m := open(t, s, "dtmf")
			var results []transcript.ChunkResult
			for c, chunk := range j.chunks {
				if c == 2 && !underCall {
					p.Stop()
				}
				var log retryLog
				onRetry := func(e RetryEvent) {
					log.add(e)
					if err := p.Start(); err != nil { // back before the next attempt
						t.Error(err)
					}
				}
				r, err := m.Recognize(testCtx(t), c, chunk, Options{Timestamps: true, OnRetry: onRetry})
				if err != nil {
					t.Fatalf("chunk %d: %v", c, err)
				}
				want := 0
				if c == 2 {
					want = 1
				}
				if log.len() != want {
					t.Errorf("chunk %d: %d retries, want %d (%v)", c, log.len(), want, log.events)
				}
				if c == 2 && log.len() == 1 {
					if code := apperr.CodeOf(log.events[0].Err); code != apperr.CodeUnreachable && code != apperr.CodeServer {
						t.Errorf("retry reason %v", log.events[0].Err)
					}
				}
				results = append(results, r)
			}
			j.check(t, results)
		})
	}
}

// TestServerThatNeverComesBack fails within the retry budget, with the
// unreachable message and what was tried.
func TestServerThatNeverComesBack(t *testing.T) {
	p := tritontest.StartProcess(t, tritontest.Options{})
	t.Run("attempts run out", func(t *testing.T) {
		s := connectConfig(t, Config{Addresses: []string{p.Addr()},
			Retry: RetryPolicy{Attempts: 5, MaxWait: 10 * time.Second, Delay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}})
		m := open(t, s, "dtmf")
		p.Stop()
		var log retryLog
		start := time.Now()
		_, err := m.Recognize(testCtx(t), 7, make([]float32, 1600), Options{OnRetry: log.add})
		el := time.Since(start)
		msg := apperr.Message(err)
		if apperr.CodeOf(err) != apperr.CodeUnreachable || !strings.Contains(msg, p.Addr()) ||
			!strings.Contains(msg, "usually 8001") || !strings.Contains(msg, "tried 5 times") {
			t.Fatalf("err = %v (code %s)", err, apperr.CodeOf(err))
		}
		if log.len() != 4 {
			t.Errorf("%d retries, want 4", log.len())
		}
		if el > 2*time.Second {
			t.Errorf("took %v", el)
		}
	})
	t.Run("time runs out", func(t *testing.T) {
		budget := 600 * time.Millisecond
		s := connectConfig(t, Config{Addresses: []string{p.Addr()},
			Retry: RetryPolicy{Attempts: 1000, MaxWait: budget, Delay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond}})
		_ = p.Start()
		m := open(t, s, "dtmf")
		p.Stop()
		var log retryLog
		start := time.Now()
		_, err := m.Recognize(testCtx(t), 7, make([]float32, 1600), Options{OnRetry: log.add})
		el := time.Since(start)
		if apperr.CodeOf(err) != apperr.CodeUnreachable || !strings.Contains(apperr.Message(err), "tried") {
			t.Fatalf("err = %v", err)
		}
		// No retry starts past the budget (checked below); the last
		// attempt may still be running when it ends.
		if el > budget+time.Second || log.len() < 4 {
			t.Errorf("gave up after %v and %d retries; budget %v", el, log.len(), budget)
		}
		for _, e := range log.events {
			if e.Elapsed+e.Wait > budget {
				t.Errorf("retry %d would start after the budget: %+v", e.Attempt, e)
			}
		}
	})
}

// rejecting is a model that answers the first n calls with code, then
// like shapeModel.
type rejecting struct {
	shapeModel
	code  codes.Code
	msg   string
	n     int32
	count *atomic.Int32
}

func (m rejecting) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	if m.count.Add(1) <= m.n {
		return nil, status.Error(m.code, m.msg)
	}
	return m.shapeModel.Execute(ctx, in, params)
}

func TestInvalidArgumentIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	bad := rejecting{shapeModel: shapeModel{name: "picky", maxBatch: 1}, code: codes.InvalidArgument, msg: "audio too quiet to decode", n: 100, count: &calls}
	s := connectConfig(t, Config{Addresses: []string{tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{bad}})}, Retry: fastRetry})
	m := open(t, s, "picky")
	var log retryLog
	_, err := m.Recognize(testCtx(t), 0, make([]float32, 160), Options{OnRetry: log.add})
	if calls.Load() != 1 || log.len() != 0 {
		t.Errorf("%d attempts, %d retries; want 1 and 0", calls.Load(), log.len())
	}
	if apperr.CodeOf(err) != apperr.CodeServer || !strings.Contains(apperr.Message(err), "audio too quiet to decode") || strings.Contains(apperr.Message(err), "tried") {
		t.Errorf("err = %v", err)
	}
	// A request the server's own validation refuses is not retried either.
	calls.Store(100)
	ok := connectConfig(t, Config{Addresses: []string{tritontest.Start(t, tritontest.Options{})}, Retry: fastRetry})
	dm := open(t, ok, "dtmf")
	dm.batched = false // a wrong shape: [N] where the model wants [1, N]
	_, err = dm.Recognize(testCtx(t), 0, make([]float32, 160), Options{OnRetry: log.add})
	if log.len() != 0 || !strings.Contains(apperr.Message(err), "unexpected shape") {
		t.Errorf("err = %v after %d retries", err, log.len())
	}
}

// TestDeadlineOfAnAttemptIsRetried: an attempt the server does not answer
// within its deadline is sent again (inference is idempotent), as many
// times as the policy allows.
func TestDeadlineOfAnAttemptIsRetried(t *testing.T) {
	var arrivals atomic.Int32
	addr := tritontest.Start(t, tritontest.Options{Latency: 400 * time.Millisecond,
		Inspect: func(context.Context, *pb.ModelInferRequest) { arrivals.Add(1) }})
	s := connectConfig(t, Config{Addresses: []string{addr},
		Retry: RetryPolicy{Attempts: 3, Delay: 5 * time.Millisecond, AttemptTimeout: 50 * time.Millisecond}})
	m := open(t, s, "dtmf")
	var log retryLog
	// 0.1 s of audio: each attempt may take 50 ms + 2 x 100 ms = 250 ms.
	_, err := m.Recognize(testCtx(t), 0, make([]float32, 1600), Options{OnRetry: log.add})
	if apperr.CodeOf(err) != apperr.CodeUnreachable || !strings.Contains(apperr.Message(err), "did not answer in time") ||
		!strings.Contains(apperr.Message(err), "tried 3 times") {
		t.Fatalf("err = %v", err)
	}
	if log.len() != 2 || arrivals.Load() != 3 {
		t.Errorf("%d retries, %d requests at the server; want 2 and 3", log.len(), arrivals.Load())
	}
	if d := chunkTimeout(s, 30*models.SampleRate); d != 50*time.Millisecond+60*time.Second {
		t.Errorf("deadline of a 30 s chunk: %v", d)
	}
	if d := DefaultRetryPolicy().attemptTimeout(30 * time.Second); d != 70*time.Second {
		t.Errorf("default deadline of a 30 s chunk: %v, want 10 s + 2 x 30 s", d)
	}
}

func chunkTimeout(s *Server, samples int) time.Duration {
	return s.cfg.Retry.attemptTimeout(time.Duration(samples) * time.Second / models.SampleRate)
}

// TestOverloadedServer: RESOURCE_EXHAUSTED is retried and halves the
// limiter's requests in flight.
func TestOverloadedServer(t *testing.T) {
	var calls atomic.Int32
	busy := rejecting{shapeModel: shapeModel{name: "busy", maxBatch: 1}, code: codes.ResourceExhausted, msg: "too many requests", n: 3, count: &calls}
	s := connectConfig(t, Config{Addresses: []string{tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{busy}})}, Retry: fastRetry})
	m := open(t, s, "busy")
	lim := NewLimiter(LimiterConfig{Max: 8, Hold: time.Hour})
	var log retryLog
	if _, err := m.Recognize(testCtx(t), 0, make([]float32, 160), Options{OnRetry: log.add, Limiter: lim}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 || log.len() != 3 {
		t.Errorf("%d attempts, %d retries; want 4 and 3", calls.Load(), log.len())
	}
	// Three overloads in a row are one signal: one halving per hold.
	if st := lim.Stats(); st.Limit != 4 || st.Decreases != 1 || st.InFlight != 0 {
		t.Errorf("limiter %+v, want limit 4 after one decrease, nothing in flight", st)
	}
	if apperr.CodeOf(log.events[0].Err) != apperr.CodeServer || !strings.Contains(apperr.Message(log.events[0].Err), "overloaded") {
		t.Errorf("retry reason %v", log.events[0].Err)
	}
}

// TestModelReloadingMidJob: a model unloaded under a job is waited for.
func TestModelReloadingMidJob(t *testing.T) {
	srv, addr := tritontest.StartServer(t, tritontest.Options{})
	s := connectConfig(t, Config{Addresses: []string{addr}, Retry: fastRetry})
	m := open(t, s, "dtmf")
	ctx := testCtx(t)
	if _, err := srv.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "dtmf"}); err != nil {
		t.Fatal(err)
	}
	var log retryLog
	_, err := m.Recognize(ctx, 0, make([]float32, 1600), Options{OnRetry: func(e RetryEvent) {
		log.add(e)
		if _, err := srv.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "dtmf"}); err != nil {
			t.Error(err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if log.len() != 1 || apperr.CodeOf(log.events[0].Err) != apperr.CodeModelNotReady {
		t.Errorf("retries %+v, want one for a model not ready", log.events)
	}
}

// TestCancellationStopsAtOnce: cancelling ends the call in flight and the
// wait before a retry, without another attempt.
func TestCancellationStopsAtOnce(t *testing.T) {
	t.Run("in flight", func(t *testing.T) {
		// Cancelled as the attempt arrives, which would be answered
		// after a minute.
		var arrivals atomic.Int32
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		addr := tritontest.Start(t, tritontest.Options{Latency: time.Minute,
			Inspect: func(context.Context, *pb.ModelInferRequest) { arrivals.Add(1); cancel() }})
		m := open(t, connectConfig(t, Config{Addresses: []string{addr}, Retry: fastRetry}), "dtmf")
		start := time.Now()
		_, err := m.Recognize(ctx, 0, make([]float32, 1600), Options{})
		if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second || arrivals.Load() != 1 {
			t.Errorf("err %v after %v and %d attempts", err, time.Since(start), arrivals.Load())
		}
	})
	t.Run("waiting to retry", func(t *testing.T) {
		var arrivals atomic.Int32
		addr := tritontest.Start(t, tritontest.Options{FailRate: 1,
			Inspect: func(context.Context, *pb.ModelInferRequest) { arrivals.Add(1) }})
		m := open(t, connectConfig(t, Config{Addresses: []string{addr}, Retry: RetryPolicy{Delay: 10 * time.Second, MaxWait: time.Hour}}), "dtmf")
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		_, err := m.Recognize(ctx, 0, make([]float32, 1600), Options{OnRetry: func(RetryEvent) { time.AfterFunc(50*time.Millisecond, cancel) }})
		// Well under the 10 s wait before the retry, even on a loaded machine.
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second || arrivals.Load() != 1 {
			t.Errorf("err %v after %v and %d attempts", err, time.Since(start), arrivals.Load())
		}
	})
	t.Run("before the first attempt", func(t *testing.T) {
		m := open(t, connectConfig(t, Config{Addresses: []string{tritontest.Start(t, tritontest.Options{})}}), "dtmf")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := m.Recognize(ctx, 0, make([]float32, 1600), Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	})
}

func writeCerts(t *testing.T) tritontest.Certs {
	t.Helper()
	c, err := tritontest.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tlsServer(t *testing.T, c tritontest.Certs, clientCA string) string {
	t.Helper()
	tc, err := tritontest.LoadServerTLS(c.ServerCert, c.ServerKey, clientCA)
	if err != nil {
		t.Fatal(err)
	}
	return tritontest.Start(t, tritontest.Options{TLS: tc})
}

// TestTLSRoundTrips: TLS and mTLS work end to end, and each mismatch gets
// its one sentence.
func TestTLSRoundTrips(t *testing.T) {
	cs := writeCerts(t)
	tlsAddr := tlsServer(t, cs, "")
	mtlsAddr := tlsServer(t, cs, cs.CA)
	plainAddr := tritontest.Start(t, tritontest.Options{})
	chunk := dtmf.Synthesize([]dtmf.Press{{Key: '9', Start: 0.2, End: 0.4}}, models.SampleRate, 1, dtmf.SynthOptions{})
	tests := []struct {
		name string
		addr string
		tls  TLSConfig
		want string // "" = works; else a piece of the message
	}{
		{"TLS", tlsAddr, TLSConfig{CAFile: cs.CA}, ""},
		{"mTLS", mtlsAddr, TLSConfig{CAFile: cs.CA, CertFile: cs.ClientCert, KeyFile: cs.ClientKey}, ""},
		{"mTLS, key as PEM", mtlsAddr, TLSConfig{CAFile: cs.CA, CertFile: cs.ClientCert, KeyPEM: readFile(t, cs.ClientKey)}, ""},
		{"wrong CA", tlsAddr, TLSConfig{CAFile: cs.OtherCA}, "not signed by an authority this computer trusts"},
		{"no client certificate", mtlsAddr, TLSConfig{CAFile: cs.CA}, "requires a client certificate"},
		{"plaintext to TLS", tlsAddr, TLSConfig{}, "expects TLS"},
		{"TLS to plaintext", plainAddr, TLSConfig{Enabled: true}, "does not use TLS"},
		{"wrong name", tlsAddr, TLSConfig{CAFile: cs.CA, ServerName: "gpu.example"}, "for another name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := connectConfig(t, Config{Addresses: []string{tt.addr}, TLS: tt.tls, Retry: fastRetry})
			st, err := s.Status(testCtx(t))
			if tt.want != "" {
				if apperr.CodeOf(err) != apperr.CodeTLS || !strings.Contains(apperr.Message(err), tt.want) || !strings.Contains(apperr.Message(err), tt.addr) {
					t.Fatalf("err = %v (code %s), want the TLS message %q", err, apperr.CodeOf(err), tt.want)
				}
				return
			}
			if err != nil || !st.TLS || !st.Live {
				t.Fatalf("status %+v, %v", st, err)
			}
			r, err := open(t, s, "dtmf").Recognize(testCtx(t), 0, chunk, Options{Timestamps: true})
			if err != nil || r.Text != "9" {
				t.Fatalf("recognize: %q, %v", r.Text, err)
			}
		})
	}
	if _, err := ConnectConfig(Config{Addresses: []string{tlsAddr}, TLS: TLSConfig{CertFile: cs.ClientCert}}); apperr.CodeOf(err) != apperr.CodeTLS {
		t.Errorf("certificate without key: %v", err)
	}
	// A key that is not the certificate's is refused before any call,
	// and the message does not quote the key.
	wrong := readFile(t, cs.ServerKey)
	_, err := ConnectConfig(Config{Addresses: []string{mtlsAddr}, TLS: TLSConfig{CertFile: cs.ClientCert, KeyPEM: wrong}})
	if apperr.CodeOf(err) != apperr.CodeTLS || strings.Contains(err.Error(), string(wrong[40:80])) {
		t.Errorf("mismatched key as PEM: %v", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTwoReplicasShareTheWork: two servers behind one client both receive
// requests, and the status shows each and their sum.
func TestTwoReplicasShareTheWork(t *testing.T) {
	a := tritontest.Start(t, tritontest.Options{})
	b := tritontest.Start(t, tritontest.Options{})
	s := connectConfig(t, Config{Addresses: []string{a, b}, Retry: fastRetry})
	if s.Addr() != a+","+b {
		t.Errorf("Addr %q", s.Addr())
	}
	m := open(t, s, "dtmf")
	counts := func() (uint64, uint64, ServerStatus) {
		st, err := s.Status(testCtx(t))
		if err != nil || len(st.Replicas) != 2 {
			t.Fatalf("status %+v, %v", st, err)
		}
		return st.Replicas[0].Models[0].InferenceCount, st.Replicas[1].Models[0].InferenceCount, st
	}
	// The first requests go to whichever replica connected first; within a
	// few both are serving.
	sent := 0
	for na, nb, _ := counts(); na == 0 || nb == 0; na, nb, _ = counts() {
		if sent == 100 {
			t.Fatalf("after %d requests: %d and %d per replica", sent, na, nb)
		}
		if _, err := m.Recognize(testCtx(t), sent, make([]float32, 1600), Options{}); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	na, nb, _ := counts()
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := m.Recognize(testCtx(t), i, make([]float32, 1600), Options{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ma, mb, st := counts()
	if ma-na != n/2 || mb-nb != n/2 {
		t.Errorf("%d requests split %d/%d, want even", n, ma-na, mb-nb)
	}
	if st.Models[0].InferenceCount != uint64(n+sent) || !st.Live || !st.Ready {
		t.Errorf("summed status %+v, want %d inferences", st, n+sent)
	}
}

func TestStatusWithOneReplicaDown(t *testing.T) {
	a := tritontest.Start(t, tritontest.Options{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := lis.Addr().String()
	lis.Close()
	s := connectConfig(t, Config{Addresses: []string{a, down}})
	st, err := s.Status(testCtx(t))
	if err != nil || !st.Live || len(st.Replicas) != 2 || st.Replicas[0].Error != "" || !strings.Contains(st.Replicas[1].Error, "cannot reach") {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// TestPriorityAndHeadersReachTheServer.
func TestPriorityAndHeadersReachTheServer(t *testing.T) {
	var mu sync.Mutex
	var prio []any
	var auth []string
	addr := tritontest.Start(t, tritontest.Options{Inspect: func(ctx context.Context, req *pb.ModelInferRequest) {
		mu.Lock()
		defer mu.Unlock()
		var v any = "absent"
		if p := req.GetParameters()["priority"]; p != nil {
			v = p.GetParameterChoice()
		}
		prio = append(prio, v)
		md, _ := metadata.FromIncomingContext(ctx)
		auth = append(auth, strings.Join(md.Get("authorization"), ","))
	}})
	s := connectConfig(t, Config{Addresses: []string{addr}, Priority: 3, Headers: map[string]string{"Authorization": "Bearer abc"}})
	m := open(t, s, "dtmf")
	for _, p := range []int{0, 1} {
		if _, err := m.Recognize(testCtx(t), 0, make([]float32, 160), Options{Priority: p}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []any{&pb.InferParameter_Int64Param{Int64Param: 3}, &pb.InferParameter_Int64Param{Int64Param: 1}}
	for i := range want {
		got, ok := prio[i].(*pb.InferParameter_Int64Param)
		if !ok || got.Int64Param != want[i].(*pb.InferParameter_Int64Param).Int64Param || auth[i] != "Bearer abc" {
			t.Errorf("request %d: priority %v, authorization %q", i, prio[i], auth[i])
		}
	}
	if _, err := ConnectConfig(Config{Addresses: []string{addr}, Priority: -1}); apperr.CodeOf(err) != apperr.CodeSettings {
		t.Errorf("negative priority: %v", err)
	}
	if _, err := ConnectConfig(Config{Addresses: []string{addr}, Headers: map[string]string{"grpc-status": "0"}}); apperr.CodeOf(err) != apperr.CodeSettings {
		t.Errorf("reserved header: %v", err)
	}
}

func TestModelHints(t *testing.T) {
	s := connectConfig(t, Config{Addresses: []string{tritontest.Start(t, tritontest.Options{Batching: &tritontest.Batching{MaxBatch: 8}})}})
	m := open(t, s, "dtmf")
	if m.MaxBatchSize != 8 || !m.DynamicBatching || m.Instances != 1 || m.SuggestedInFlight() != 16 {
		t.Errorf("hints %+v, suggested %d", m, m.SuggestedInFlight())
	}
	plain := open(t, connectConfig(t, Config{Addresses: []string{tritontest.Start(t, tritontest.Options{})}}), "dtmf")
	if plain.DynamicBatching || plain.SuggestedInFlight() != 2 {
		t.Errorf("hints without batcher %+v, suggested %d", plain, plain.SuggestedInFlight())
	}
}

// TestWatchQueueLowersTheLimit: a queue time that grows (many requests on
// a batcher that runs one at a time) makes the limiter send less.
func TestWatchQueueLowersTheLimit(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Batching: &tritontest.Batching{MaxBatch: 1, Latency: 40 * time.Millisecond}})
	s := connectConfig(t, Config{Addresses: []string{addr}})
	m := open(t, s, "dtmf")
	lim := NewLimiter(LimiterConfig{Max: 8, Hold: time.Hour})
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go m.WatchQueue(ctx, lim, 100*time.Millisecond)
	// First one at a time (no queue), then eight at once.
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		if _, err := m.Recognize(ctx, 0, make([]float32, 160), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for lim.Stats().Decreases == 0 && ctx.Err() == nil {
				if _, err := m.Recognize(ctx, 0, make([]float32, 160), Options{}); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("a growing queue never lowered the limit")
	}
	if st := lim.Stats(); st.Limit != 4 {
		t.Errorf("limiter %+v, want 4", st)
	}
}

// TestRequestTooLarge: a chunk over a gateway's message limit fails at
// once with its own message; retrying cannot make it fit.
func TestRequestTooLarge(t *testing.T) {
	var arrivals atomic.Int32
	addr := tritontest.Start(t, tritontest.Options{MaxMessageBytes: 1 << 20,
		Inspect: func(context.Context, *pb.ModelInferRequest) { arrivals.Add(1) }})
	// FP32: silence in FLAC would fit any limit.
	m := open(t, connectConfig(t, Config{Addresses: []string{addr}, Retry: fastRetry, AudioInput: models.InputAudio}), "dtmf")
	var log retryLog
	_, err := m.Recognize(testCtx(t), 0, make([]float32, 30*models.SampleRate), Options{OnRetry: log.add})
	if apperr.CodeOf(err) != apperr.CodeTooLarge || !strings.Contains(apperr.Message(err), "too large") || log.len() != 0 || arrivals.Load() != 0 {
		t.Fatalf("err %v (code %s) after %d retries", err, apperr.CodeOf(err), log.len())
	}
	if _, err := m.Recognize(testCtx(t), 1, make([]float32, 10*models.SampleRate), Options{}); err != nil {
		t.Errorf("a chunk under the limit: %v", err)
	}
}

// TestSlowFirstAttemptStillRetried: an attempt that used up the whole
// budget by waiting for its deadline is still tried once more.
func TestSlowFirstAttemptStillRetried(t *testing.T) {
	var arrivals atomic.Int32
	addr := tritontest.Start(t, tritontest.Options{Latency: 300 * time.Millisecond,
		Inspect: func(context.Context, *pb.ModelInferRequest) { arrivals.Add(1) }})
	s := connectConfig(t, Config{Addresses: []string{addr},
		Retry: RetryPolicy{MaxWait: 50 * time.Millisecond, Delay: 5 * time.Millisecond, AttemptTimeout: 100 * time.Millisecond}})
	m := open(t, s, "dtmf")
	var log retryLog
	_, err := m.Recognize(testCtx(t), 0, make([]float32, 160), Options{OnRetry: log.add})
	if !strings.Contains(apperr.Message(err), "tried 2 times") || log.len() != 1 || arrivals.Load() != 2 {
		t.Errorf("err %v, %d retries, %d requests; want 2 attempts", err, log.len(), arrivals.Load())
	}
}

func TestConnectTakesACommaList(t *testing.T) {
	a, b := tritontest.Start(t, tritontest.Options{}), tritontest.Start(t, tritontest.Options{})
	s, err := Connect(a + ", " + b)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.Status(testCtx(t)); err != nil || len(st.Replicas) != 2 || st.Address != a+","+b {
		t.Fatalf("status %+v, %v", st, err)
	}
	for _, bad := range []string{"a:1,dns:///b:2", "a:x", " , "} {
		if _, err := Connect(bad); apperr.CodeOf(err) != apperr.CodeUnreachable {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// recognizeInOrder sends the chunks one after another and checks that each
// took exactly the attempts the fault plan calls for; checkRetry, when
// given, sees every retry event of chunk c (k counts from 0).
func recognizeInOrder(t *testing.T, m *Model, chunks [][]float32, perChunk []int, checkRetry func(c, k int, e RetryEvent)) []transcript.ChunkResult {
	t.Helper()
	var results []transcript.ChunkResult
	for c, chunk := range chunks {
		var log retryLog
		r, err := m.Recognize(testCtx(t), c, chunk, Options{Timestamps: true, OnRetry: log.add})
		if err != nil {
			t.Fatalf("chunk %d: %v", c, err)
		}
		if got := log.len() + 1; got != perChunk[c] {
			t.Errorf("chunk %d took %d attempts, the fault plan says %d", c, got, perChunk[c])
		}
		if checkRetry != nil {
			for k, e := range log.events {
				checkRetry(c, k, e)
			}
		}
		results = append(results, r)
	}
	return results
}
