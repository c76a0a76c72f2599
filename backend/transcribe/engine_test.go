package transcribe

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func writeWAV(t *testing.T, path string, presses []dtmf.Press, rate int, seconds float64, noiseDB float64) {
	t.Helper()
	samples := dtmf.Synthesize(presses, rate, seconds, dtmf.SynthOptions{NoiseDB: noiseDB, Seed: 1})
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, samples, rate, 1, audio.Float32); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type recorder struct {
	mu sync.Mutex
	ps []Progress
}

func (r *recorder) add(p Progress) { r.mu.Lock(); r.ps = append(r.ps, p); r.mu.Unlock() }

func newRequest(t *testing.T, addr, src string) Request {
	dir := t.TempDir()
	return Request{Path: src, Server: addr, Model: "dtmf", CacheDir: filepath.Join(dir, "cache"),
		OutDir: filepath.Join(dir, "out"), Formats: []string{"json", "txt"}, Timestamps: true, Concurrency: 2}
}

func TestSilentChunksAreNotSent(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	src := filepath.Join(t.TempDir(), "gap.wav")
	// Keys in the first and last 30 s, digital silence between: the middle
	// chunk is silent and must not reach the server.
	writeWAV(t, src, []dtmf.Press{{Key: '1', Start: 5, End: 5.2}, {Key: '2', Start: 75, End: 75.2}}, 16000, 90, 0)
	e := NewEngine()
	defer e.Close()
	var rec recorder
	res, err := e.Transcribe(context.Background(), newRequest(t, addr, src), rec.add)
	if err != nil {
		t.Fatal(err)
	}
	if res.Transcript.Text != "1 2" || len(res.Outputs) != 2 {
		t.Fatalf("result %+v", res)
	}
	st, err := e.ServerStatus(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Models[0].InferenceCount; n != 2 {
		t.Errorf("server ran %d inferences for 3 chunks with one silent, want 2", n)
	}

	// Progress: stages in order, fraction never goes back, ends done at 1.
	order := map[Stage]int{StageStaging: 1, StageDecoding: 2, StageTranscribing: 3, StageExporting: 4, StageDone: 5}
	last, lastFrac := 0, 0.0
	for _, p := range rec.ps {
		if order[p.Stage] < last || p.Fraction < lastFrac-1e-9 || p.Path != src {
			t.Fatalf("progress went back: %+v after stage %d fraction %v", p, last, lastFrac)
		}
		last, lastFrac = order[p.Stage], p.Fraction
	}
	if end := rec.ps[len(rec.ps)-1]; end.Stage != StageDone || end.Fraction != 1 || end.ChunksDone != 3 || end.ChunksTotal != 3 {
		t.Errorf("last progress %+v", end)
	}
}

func TestCancelStopsTheJobAndWritesNothing(t *testing.T) {
	// The server answers no chunk within the test: only cancelling the
	// calls in flight ends the job.
	const latency = time.Minute
	arrived := make(chan struct{}, 1)
	addr := tritontest.Start(t, tritontest.Options{Latency: latency,
		Inspect: func(context.Context, *pb.ModelInferRequest) {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}})
	src := filepath.Join(t.TempDir(), "long.wav")
	writeWAV(t, src, []dtmf.Press{{Key: '1', Start: 1, End: 1.2}}, 16000, 120, -40)
	e := NewEngine()
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled atomic.Int64 // when the test cancelled, in UnixNano
	go func() {
		select {
		case <-arrived: // a chunk is in flight
		case <-ctx.Done():
			return
		}
		cancelled.Store(time.Now().UnixNano())
		cancel()
	}()
	req := newRequest(t, addr, src)
	_, err := e.Transcribe(ctx, req, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if at := cancelled.Load(); at == 0 {
		t.Fatal("the job ended before a chunk reached the server")
	} else if d := time.Since(time.Unix(0, at)); d > latency/4 {
		t.Errorf("cancel took %v: in-flight calls were not cancelled", d)
	}
	if entries, _ := os.ReadDir(req.OutDir); len(entries) != 0 {
		t.Errorf("outputs written for a cancelled job: %v", entries)
	}
}

func TestUnknownModelFailsBeforeReadingAudio(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	src := filepath.Join(t.TempDir(), "a.wav")
	writeWAV(t, src, nil, 16000, 1, -40)
	e := NewEngine()
	defer e.Close()
	req := newRequest(t, addr, src)
	req.Model = "missing"
	_, err := e.Transcribe(context.Background(), req, nil)
	if err == nil || !strings.Contains(err.Error(), `no model "missing"`) || !strings.HasPrefix(err.Error(), "a.wav: ") {
		t.Fatalf("err = %v", err)
	}
}

// failSecond is the dtmf model failing every chunk but the first: a server
// error that retrying cannot fix.
type failSecond struct {
	tritontest.Model
	calls *atomic.Int32
}

func (m failSecond) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	if m.calls.Add(1) > 1 {
		return nil, errors.New("CUDA error: an illegal memory access was encountered")
	}
	return m.Model.Execute(ctx, in, params)
}

func TestAFailedChunkFailsTheFileAndSaysWhere(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{failSecond{tritontest.DTMF(), new(atomic.Int32)}}})
	src := filepath.Join(t.TempDir(), "b.wav")
	writeWAV(t, src, []dtmf.Press{{Key: '1', Start: 1, End: 1.2}}, 16000, 45, -40)
	e := NewEngine()
	defer e.Close()
	req := newRequest(t, addr, src)
	req.Concurrency = 1 // chunks reach the server in order
	_, err := e.Transcribe(context.Background(), req, nil)
	if err == nil || !strings.Contains(err.Error(), "chunk 2 at 0:00:") || !strings.Contains(err.Error(), "illegal memory access") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(req.OutDir); len(entries) != 0 {
		t.Errorf("outputs written for a failed job: %v", entries)
	}
}
