package triton_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func newClient(t *testing.T, opts tritontest.Options) *triton.Client {
	t.Helper()
	c, err := triton.New(triton.Config{Addr: tritontest.Start(t, opts)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func audioInput(samples []float32) triton.Input {
	return triton.Input{Name: models.InputAudio, Datatype: models.DatatypeFP32,
		Shape: []int64{1, int64(len(samples))}, Raw: triton.EncodeFP32(samples)}
}

// TestEveryRPCRoundTrip drives each client call against the test server
// over real TCP loopback.
func TestEveryRPCRoundTrip(t *testing.T) {
	c := newClient(t, tritontest.Options{})
	cx := ctx(t)

	if live, err := c.ServerLive(cx); err != nil || !live {
		t.Fatalf("ServerLive = %v, %v", live, err)
	}
	if ready, err := c.ServerReady(cx); err != nil || !ready {
		t.Fatalf("ServerReady = %v, %v", ready, err)
	}
	md, err := c.ServerMetadata(cx)
	if err != nil || md.Name != "triton" || md.Version == "" {
		t.Fatalf("ServerMetadata = %+v, %v", md, err)
	}
	if ready, err := c.ModelReady(cx, "dtmf", ""); err != nil || !ready {
		t.Fatalf("ModelReady = %v, %v", ready, err)
	}
	mm, err := c.ModelMetadata(cx, "dtmf", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(mm.Inputs) != 3 || mm.Inputs[0].Name != "AUDIO" || mm.Inputs[0].Datatype != "FP32" ||
		len(mm.Inputs[0].Shape) != 2 || mm.Inputs[0].Shape[0] != -1 || mm.Inputs[0].Shape[1] != -1 {
		t.Errorf("ModelMetadata inputs = %+v (want AUDIO FP32 [-1 -1], then the compact forms)", mm.Inputs)
	}
	cfg, err := c.ModelConfig(cx, "dtmf", "")
	if err != nil || cfg.GetName() != "dtmf" || cfg.GetMaxBatchSize() < 1 {
		t.Fatalf("ModelConfig = %v, %v", cfg, err)
	}
	idx, err := c.RepositoryIndex(cx, false)
	if err != nil || len(idx) != 1 || idx[0].Name != "dtmf" || idx[0].State != "READY" {
		t.Fatalf("RepositoryIndex = %+v, %v", idx, err)
	}

	presses := []dtmf.Press{{Key: '7', Start: 0.25, End: 0.45}}
	samples := dtmf.Synthesize(presses, 16000, 1, dtmf.SynthOptions{})
	res, err := c.Infer(cx, triton.InferRequest{
		Model: "dtmf", ID: "req-1", Inputs: []triton.Input{audioInput(samples)},
		Params: map[string]any{models.ParamTimestamps: true, models.ParamSourceLang: "en"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "req-1" {
		t.Errorf("response id %q", res.ID)
	}
	text, err := res.Bytes(models.OutputTranscript)
	if err != nil || len(text) != 1 || string(text[0]) != "7" {
		t.Fatalf("TRANSCRIPT = %q, %v", text, err)
	}
	ts, err := res.Bytes(models.OutputTimestamps)
	if err != nil || len(ts) != 1 {
		t.Fatalf("TIMESTAMPS = %q, %v", ts, err)
	}
	var parsed struct {
		Words []struct {
			Word       string
			Start, End float64
		}
	}
	if err := json.Unmarshal(ts[0], &parsed); err != nil || len(parsed.Words) != 1 || parsed.Words[0].Word != "7" {
		t.Fatalf("TIMESTAMPS JSON %s: %v", ts[0], err)
	}

	// Asking for one output returns just that one.
	res, err = c.Infer(cx, triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{audioInput(samples)}, Outputs: []string{models.OutputTimestamps}})
	if err != nil || len(res.Outputs) != 1 {
		t.Fatalf("one requested output: %v, %v", res, err)
	}
	if _, err := res.Bytes(models.OutputTranscript); err == nil {
		t.Error("Bytes of an output not returned gave no error")
	}

	stats, err := c.ModelStatistics(cx, "dtmf", "")
	if err != nil || len(stats) != 1 {
		t.Fatalf("ModelStatistics = %v, %v", stats, err)
	}
	if s := stats[0]; s.GetInferenceCount() != 2 || s.GetExecutionCount() != 2 || s.GetInferenceStats().GetSuccess().GetCount() != 2 {
		t.Errorf("statistics after 2 requests: %v", s)
	}
}

// TestInferErrorCodes checks that Triton's status codes reach callers as
// the client's codes, with the server's text.
func TestInferErrorCodes(t *testing.T) {
	c := newClient(t, tritontest.Options{})
	samples := make([]float32, 1600)
	tests := []struct {
		name string
		req  triton.InferRequest
		code triton.Code
		text string
	}{
		{"unknown model", triton.InferRequest{Model: "nope", Inputs: []triton.Input{audioInput(samples)}}, triton.CodeNotFound, "unknown model"},
		{"wrong datatype", triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{{Name: "AUDIO", Datatype: "FP64", Shape: []int64{1, 1600}, Raw: make([]byte, 8*1600)}}}, triton.CodeInvalidArgument, "FP64"},
		{"missing batch dimension", triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{{Name: "AUDIO", Datatype: "FP32", Shape: []int64{1600}, Raw: triton.EncodeFP32(samples)}}}, triton.CodeInvalidArgument, ""},
		{"byte size mismatch", triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{{Name: "AUDIO", Datatype: "FP32", Shape: []int64{1, 1601}, Raw: triton.EncodeFP32(samples)}}}, triton.CodeInvalidArgument, "byte size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Infer(ctx(t), tt.req)
			var te *triton.Error
			if !errors.As(err, &te) || te.Code != tt.code || !strings.Contains(te.Message, tt.text) {
				t.Fatalf("err = %v, want code %s containing %q", err, tt.code, tt.text)
			}
			if te.Temporary() {
				t.Error("an invalid request is marked temporary")
			}
		})
	}
	_, err := c.Infer(ctx(t), triton.InferRequest{Model: "dtmf", Params: map[string]any{"x": uint64(1)}})
	if err == nil || errors.As(err, new(*triton.Error)) {
		t.Errorf("uint64 parameter should be refused before sending, got %v", err)
	}
}

func TestNotReadyAndUnreachable(t *testing.T) {
	c := newClient(t, tritontest.Options{ReadyAfter: time.Hour})
	if ready, err := c.ModelReady(ctx(t), "dtmf", ""); err != nil || ready {
		t.Fatalf("ModelReady while loading = %v, %v", ready, err)
	}
	_, err := c.Infer(ctx(t), triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{audioInput(make([]float32, 160))}})
	if triton.CodeOf(err) != triton.CodeModelNotReady {
		t.Fatalf("infer while loading: %v", err)
	}
	var te *triton.Error
	if !errors.As(err, &te) || !te.Temporary() {
		t.Error("a loading model should be a temporary failure")
	}

	down, err := triton.New(triton.Config{Addr: "127.0.0.1:1", CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, err = down.ServerLive(ctx(t))
	if triton.CodeOf(err) != triton.CodeUnreachable || !errors.As(err, &te) || !te.Temporary() {
		t.Fatalf("unreachable server: %v", err)
	}
}

func TestCancelledCallReportsCanceled(t *testing.T) {
	// The server would answer after a minute; the call is cancelled once
	// it has arrived there.
	const latency = time.Minute
	cx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled atomic.Int64 // UnixNano
	c := newClient(t, tritontest.Options{Latency: latency, Inspect: func(context.Context, *pb.ModelInferRequest) {
		cancelled.CompareAndSwap(0, time.Now().UnixNano())
		cancel()
	}})
	_, err := c.Infer(cx, triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{audioInput(make([]float32, 160))}})
	if triton.CodeOf(err) != triton.CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if at := cancelled.Load(); at == 0 {
		t.Fatal("the call ended before it reached the server")
	} else if d := time.Since(time.Unix(0, at)); d > latency/4 {
		t.Errorf("cancellation ended the call after %v, not promptly", d)
	}
}
