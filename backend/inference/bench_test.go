package inference

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// raceEnabled is set by race_test.go.
var raceEnabled = false

// chunk30s is 30 s of pre-decoded audio, the largest chunk the engine
// sends (1.92 MB as FP32).
func chunk30s() []float32 {
	c := make([]float32, 30*models.SampleRate)
	for i := range c {
		c[i] = float32(i%200)/200 - 0.5
	}
	return c
}

// skipCompute is the devserver's --skip-compute dtmf model: the server
// validates and answers, but spends no time on the audio, so what is
// measured is the client, the transport and the (simulated) batcher.
func skipCompute() []tritontest.Model {
	return []tritontest.Model{tritontest.DTMFWith(tritontest.DTMFOptions{SkipCompute: true})}
}

// run sends n chunks with inFlight at a time and returns when each
// completed, in order of completion.
func run(ctx context.Context, m *Model, chunk []float32, n, inFlight int) ([]time.Time, error) {
	var next atomic.Int64
	var mu sync.Mutex
	done := make([]time.Time, 0, n)
	var firstErr error
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				_, err := m.Recognize(ctx, i, chunk, Options{})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				done = append(done, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
	return done, firstErr
}

// BenchmarkRecognizeLoopback measures requests per second and MB/s of
// 30 s chunks over loopback TCP against a devserver with no latency, with
// 1, 4 and 16 requests in flight on the one connection. Compare MB/s with
// BenchmarkLoopbackTCPAnchor from the same run (bench/triton/run.sh prints
// the ratios).
//
// With TRITON_BENCH_ADDR set, it measures that server instead of one in
// this process: a `triton-devserver --skip-compute` started by the script,
// so that client and server do not share a garbage collector.
func BenchmarkRecognizeLoopback(b *testing.B) {
	addr := os.Getenv("TRITON_BENCH_ADDR")
	if addr == "" {
		addr = tritontest.Start(b, tritontest.Options{Models: skipCompute()})
	}
	s, err := Connect(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	m, err := s.OpenModel(context.Background(), "dtmf", WaitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	chunk := chunk30s()
	for _, inFlight := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			b.SetBytes(int64(4 * len(chunk)))
			b.ReportAllocs()
			start := time.Now()
			b.ResetTimer()
			if _, err := run(context.Background(), m, chunk, b.N, inFlight); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkLoopbackTCPAnchor is the anchor for the figures above: the
// same 1.92 MB payloads written over one plain TCP loopback connection,
// each answered with 8 bytes, one at a time — what the machine's loopback
// does with no gRPC, protobuf or FP32 encoding in the way.
func BenchmarkLoopbackTCPAnchor(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer lis.Close()
	const size = 4 * 30 * models.SampleRate
	go func() {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, size)
		ack := make([]byte, 8)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(ack); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	payload := make([]byte, size)
	binary.LittleEndian.PutUint32(payload, 1)
	ack := make([]byte, 8)
	b.SetBytes(size)
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(payload); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, ack); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// batcherRun measures the client against a devserver that batches as
// Triton's dynamic batcher: 100 ms per execution, 8 per batch, compute
// skipped, so the server can do 80 requests a second. It returns the rate
// the client reached in steady state (after a warm-up) and the server's
// statistics.
// TRITON_BENCH_BATCHER_ADDR names an outside devserver started with
// --skip-compute --max-batch 8 --batch-latency 100ms to use instead.
func batcherRun(tb testing.TB, inFlight, measured int) (rate float64, st ServerStatus) {
	const batch, latency = 8, 100 * time.Millisecond
	addr := os.Getenv("TRITON_BENCH_BATCHER_ADDR")
	if _, isBench := tb.(*testing.B); addr == "" || !isBench {
		addr = tritontest.Start(tb, tritontest.Options{Models: skipCompute(),
			Batching: &tritontest.Batching{MaxBatch: batch, Latency: latency}})
	}
	// FP32, as before the compact forms: this measures how the client
	// keeps a batcher busy, not the FLAC encoder (BenchmarkRecognizeForms).
	s, err := ConnectConfig(Config{Addresses: []string{addr}, AudioInput: models.InputAudio})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := s.OpenModel(ctx, "dtmf", WaitOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	// Completions come in bursts of a batch: measure from one burst to the
	// one measured/batch later, after two batches of warm-up.
	warm := 2 * batch
	done, err := run(ctx, m, chunk30s(), warm+measured+inFlight, inFlight)
	if err != nil {
		tb.Fatal(err)
	}
	rate = float64(measured) / done[warm+measured-1].Sub(done[warm-1]).Seconds()
	if st, err = s.Status(ctx); err != nil {
		tb.Fatal(err)
	}
	return rate, st
}

// TestThroughputWithBatcher is the throughput check: with enough requests
// in flight the client keeps a batching server at 90 % of what it can do
// or better (8 requests per 100 ms = 80 per second).
func TestThroughputWithBatcher(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("takes about 2.5 s; meaningless under the race detector")
	}
	const capacity = 80.0
	// A wall-clock measurement on 2 shared cores: when other test packages
	// run beside it, one round can lose the CPU for a while. The bar stays
	// at 90 %; a round that misses it is measured again, at most 3 rounds.
	var rates []float64
	for range 3 {
		rate, st := batcherRun(t, 32, 160)
		ms := st.Models[0]
		t.Logf("%.1f requests/s = %.0f%% of the server's %v/s; %d requests in %d executions",
			rate, 100*rate/capacity, capacity, ms.InferenceCount, ms.ExecutionCount)
		if rate >= 0.9*capacity {
			return
		}
		rates = append(rates, rate)
	}
	t.Errorf("client reached %.1f requests/s in 3 rounds, under 90%% of the server's %v", rates, capacity)
}

// BenchmarkBatcherThroughput reports the same check as a ratio of the
// server's capacity, for bench/triton/run.sh.
func BenchmarkBatcherThroughput(b *testing.B) {
	for _, inFlight := range []int{8, 16, 32} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			var rate float64
			for range b.N {
				r, _ := batcherRun(b, inFlight, 80)
				rate += r
			}
			b.ReportMetric(rate/float64(b.N), "req/s")
			b.ReportMetric(rate/float64(b.N)/80, "of-capacity")
		})
	}
}
