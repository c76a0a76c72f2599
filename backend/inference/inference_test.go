package inference

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// shapeModel answers every request with the shape it received as text, so
// tests see what the client sent.
type shapeModel struct {
	name      string
	maxBatch  int32
	outputs   []*pb.ModelOutput
	decoupled bool
	calls     *atomic.Int32
}

func (m shapeModel) Config() *pb.ModelConfig {
	outs := m.outputs
	if outs == nil {
		outs = []*pb.ModelOutput{
			{Name: models.OutputTranscript, DataType: pb.DataType_TYPE_STRING, Dims: []int64{1}},
			{Name: models.OutputTimestamps, DataType: pb.DataType_TYPE_STRING, Dims: []int64{1}},
		}
	}
	return &pb.ModelConfig{
		Name: m.name, Backend: "python", MaxBatchSize: m.maxBatch,
		Input:                  []*pb.ModelInput{{Name: models.InputAudio, DataType: pb.DataType_TYPE_FP32, Dims: []int64{-1}}},
		Output:                 outs,
		ModelTransactionPolicy: &pb.ModelTransactionPolicy{Decoupled: m.decoupled},
	}
}

func bytesTensor(name, s string) tritontest.Tensor {
	data := binary.LittleEndian.AppendUint32(nil, uint32(len(s)))
	return tritontest.Tensor{Name: name, Datatype: "BYTES", Shape: []int64{1, 1}, Data: append(data, s...)}
}

func (m shapeModel) Execute(_ context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	if m.calls != nil {
		m.calls.Add(1)
	}
	shape := fmt.Sprint(in[0].Shape)
	ts := fmt.Sprintf(`{"words":[{"word":"w","start":0.1,"end":0.2}],"segments":[{"text":"%s","start":0.1,"end":0.2}]}`, shape)
	if p := params[models.ParamTimestamps]; p != nil && !p.GetBoolParam() {
		ts = `{"words":[],"segments":[]}`
	}
	out := []tritontest.Tensor{bytesTensor(models.OutputTranscript, shape), bytesTensor(models.OutputTimestamps, ts)}
	if m.maxBatch == 0 {
		for i := range out {
			out[i].Shape = []int64{1}
		}
	}
	return out, nil
}

func connect(t *testing.T, ms ...tritontest.Model) *Server {
	t.Helper()
	s, err := Connect(tritontest.Start(t, tritontest.Options{Models: ms}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRequestShapeFollowsMaxBatchSize(t *testing.T) {
	s := connect(t, shapeModel{name: "batched", maxBatch: 4}, shapeModel{name: "flat", maxBatch: 0})
	ctx := context.Background()
	for name, want := range map[string]string{"batched": "[1 480]", "flat": "[480]"} {
		m, err := s.OpenModel(ctx, name, WaitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Recognize(ctx, 0, make([]float32, 480), Options{Timestamps: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Text != want || len(r.Words) != 1 {
			t.Errorf("%s: model saw shape %q (words %v), want %s", name, r.Text, r.Words, want)
		}
	}
}

func TestOpenModelChecksTheContract(t *testing.T) {
	noText := shapeModel{name: "no-text", maxBatch: 1, outputs: []*pb.ModelOutput{{Name: "LOGITS", DataType: pb.DataType_TYPE_FP32, Dims: []int64{-1}}}}
	s := connect(t, shapeModel{name: "ok", maxBatch: 1}, noText, shapeModel{name: "streaming", maxBatch: 1, decoupled: true})
	ctx := context.Background()
	tests := []struct {
		model string
		code  apperr.Code
		text  string
	}{
		{"ok", "", ""},
		{"no-text", apperr.CodeContract, "no BYTES output TRANSCRIPT"},
		{"streaming", apperr.CodeContract, "decoupled"},
		{"absent", apperr.CodeUnknownModel, `models there: no-text, ok, streaming`},
	}
	for _, tt := range tests {
		_, err := s.OpenModel(ctx, tt.model, WaitOptions{})
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.model, err)
			}
			continue
		}
		if apperr.CodeOf(err) != tt.code || !strings.Contains(apperr.Message(err), tt.text) {
			t.Errorf("%s: %v (code %s), want %s containing %q", tt.model, err, apperr.CodeOf(err), tt.code, tt.text)
		}
	}
}

func TestOpenModelWaitsBoundedForLoading(t *testing.T) {
	s, err := Connect(tritontest.Start(t, tritontest.Options{ReadyAfter: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waits := 0
	_, err = s.OpenModel(context.Background(), "dtmf", WaitOptions{Timeout: 300 * time.Millisecond, Poll: 50 * time.Millisecond,
		OnWait: func(time.Duration, string) { waits++ }})
	if apperr.CodeOf(err) != apperr.CodeModelNotReady || !strings.Contains(apperr.Message(err), "still not ready") || waits == 0 {
		t.Fatalf("err %v after %d waits", err, waits)
	}
}

func TestRecognizeRetriesTransientFailures(t *testing.T) {
	var calls atomic.Int32
	// Every other request fails UNAVAILABLE (seeded), yet all succeed.
	addr := tritontest.Start(t, tritontest.Options{FailRate: 0.5, Seed: 3, Models: []tritontest.Model{shapeModel{name: "m", maxBatch: 1, calls: &calls}}})
	s, err := ConnectConfig(Config{Addresses: []string{addr}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.OpenModel(context.Background(), "m", WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := m.Recognize(context.Background(), i, make([]float32, 16), Options{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if calls.Load() != 6 {
		t.Errorf("model executed %d times, want 6", calls.Load())
	}
	st, err := s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := st.Models[0].FailureCount; f == 0 || st.Models[0].InferenceCount != 6 {
		t.Errorf("server saw %d failures and %d inferences; want some failures and 6", f, st.Models[0].InferenceCount)
	}
}

func TestStatusOfUnreachableServer(t *testing.T) {
	s, err := Connect("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = s.Status(ctx)
	if apperr.CodeOf(err) != apperr.CodeUnreachable || !strings.Contains(apperr.Message(err), "127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Connect("  "); apperr.CodeOf(err) != apperr.CodeUnreachable {
		t.Errorf("empty address: %v", err)
	}
}
