package tritontest_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

const sr = models.SampleRate

// dial connects to addr over TCP with the generated client, the way the
// real client does.
func dial(t *testing.T, addr string) (pb.GRPCInferenceServiceClient, *grpc.ClientConn) {
	t.Helper()
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn), conn
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// audioRequest is a dtmf request with one clip per row, sent raw.
func audioRequest(clips ...[]float32) *pb.ModelInferRequest {
	n := 0
	if len(clips) > 0 {
		n = len(clips[0])
	}
	var raw []byte
	for _, c := range clips {
		raw = append(raw, triton.EncodeFP32(c)...)
	}
	return &pb.ModelInferRequest{
		ModelName: tritontest.DTMFModelName,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: []int64{int64(len(clips)), int64(n)}},
		},
		RawInputContents: [][]byte{raw},
	}
}

// decodeBytes splits BYTES data by its 4-byte little-endian lengths, written
// out here rather than taken from the package so the wire format is what
// is tested.
func decodeBytes(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	for len(data) > 0 {
		if len(data) < 4 {
			t.Fatalf("BYTES data: %d stray bytes", len(data))
		}
		n := int(binary.LittleEndian.Uint32(data))
		if 4+n > len(data) {
			t.Fatalf("BYTES element of %d bytes, %d left", n, len(data)-4)
		}
		out = append(out, string(data[4:4+n]))
		data = data[4+n:]
	}
	return out
}

// output returns the elements of the named output, found by name.
func output(t *testing.T, resp *pb.ModelInferResponse, name string) []string {
	t.Helper()
	if len(resp.Outputs) != len(resp.RawOutputContents) {
		t.Fatalf("%d outputs but %d raw_output_contents", len(resp.Outputs), len(resp.RawOutputContents))
	}
	for i, o := range resp.Outputs {
		if o.Name == name {
			if o.Contents != nil {
				t.Errorf("output %s uses contents; the server must use raw_output_contents", name)
			}
			return decodeBytes(t, resp.RawOutputContents[i])
		}
	}
	t.Fatalf("no output %s in %v", name, resp.Outputs)
	return nil
}

func code(err error) codes.Code { return status.Code(err) }

func TestServerRPCs(t *testing.T) {
	srv, addr := tritontest.StartServer(t, tritontest.Options{})
	c, conn := dial(t, addr)
	ctx := ctx(t)

	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive = %v, %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady = %v, %v", r, err)
	}
	// Current Triton looks the model up before asking it: what it cannot
	// find is NOT_FOUND, not ready=false (TestModelReadyLegacy has those).
	for _, tc := range []struct {
		name, version string
		code          codes.Code
	}{{"dtmf", "", codes.OK}, {"dtmf", "1", codes.OK}, {"dtmf", "2", codes.NotFound}, {"nope", "", codes.NotFound}} {
		r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: tc.name, Version: tc.version})
		if code(err) != tc.code || (err == nil && !r.Ready) {
			t.Errorf("ModelReady(%s, %q) = %v, %v; want %v", tc.name, tc.version, r, err, tc.code)
		}
	}

	meta, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{})
	if err != nil || meta.Name != "triton" || meta.Version != tritontest.Version || len(meta.Extensions) == 0 {
		t.Errorf("ServerMetadata = %v, %v", meta, err)
	}

	mm, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "dtmf"})
	if err != nil {
		t.Fatal(err)
	}
	if mm.Name != "dtmf" || len(mm.Versions) != 1 || mm.Versions[0] != "1" {
		t.Errorf("ModelMetadata name/versions = %q %v", mm.Name, mm.Versions)
	}
	// The batch dimension (-1) comes first; types are protocol strings.
	contract := models.Contract()
	checkMeta := func(kind string, got []*pb.ModelMetadataResponse_TensorMetadata, want []models.Tensor) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d", kind, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			wantShape := append([]int64{-1}, w.Dims...)
			if g.Name != w.Name || g.Datatype != w.Datatype || !equal(g.Shape, wantShape) {
				t.Errorf("%s[%d] = %s %s %v, want %s %s %v", kind, i, g.Name, g.Datatype, g.Shape, w.Name, w.Datatype, wantShape)
			}
		}
	}
	checkMeta("inputs", mm.Inputs, contract.AudioInputs())
	checkMeta("outputs", mm.Outputs, contract.Outputs)

	cfg, err := c.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "dtmf"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.Name != "dtmf" || cfg.Config.MaxBatchSize != tritontest.DTMFMaxBatchSize ||
		int(cfg.Config.MaxBatchSize) < contract.MaxBatchSizeMin ||
		cfg.Config.Input[0].DataType != pb.DataType_TYPE_FP32 || !equal(cfg.Config.Input[0].Dims, []int64{-1}) ||
		cfg.Config.Output[0].DataType != pb.DataType_TYPE_STRING || cfg.Config.Output[1].Name != models.OutputTimestamps {
		t.Errorf("ModelConfig = %v", cfg.Config)
	}

	idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil || len(idx.Models) != 1 || idx.Models[0].Name != "dtmf" || idx.Models[0].State != "READY" || idx.Models[0].Version != "1" {
		t.Errorf("RepositoryIndex = %v, %v", idx, err)
	}

	st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{})
	if err != nil || len(st.ModelStats) != 1 || st.ModelStats[0].Name != "dtmf" || st.ModelStats[0].InferenceCount != 0 {
		t.Errorf("ModelStatistics = %v, %v", st, err)
	}

	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, %v", h, err)
	}

	// Unload makes the model unavailable; load brings it back.
	if _, err := c.RepositoryModelUnload(ctx, &pb.RepositoryModelUnloadRequest{ModelName: "dtmf"}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); r.GetReady() || code(err) != codes.NotFound {
		t.Errorf("ModelReady after unload = %v, %v; want NOT_FOUND", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady after unload = %v, %v; a model unloaded on request does not make the server unready", r, err)
	}
	if _, err := c.ModelInfer(ctx, audioRequest(make([]float32, 160))); code(err) != codes.NotFound || !strings.Contains(err.Error(), "has no available versions") {
		t.Errorf("infer after unload: %v, want NOT_FOUND has no available versions", err)
	}
	idx, _ = c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if idx.GetModels()[0].GetState() != "UNAVAILABLE" {
		t.Errorf("index after unload: %v", idx)
	}
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "dtmf"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModelInfer(ctx, audioRequest(make([]float32, 160))); err != nil {
		t.Errorf("infer after load: %v", err)
	}
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "nope"}); code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "failed to poll from model repository") {
		t.Errorf("load of unknown model: %v", err)
	}
	if got := srv.Models(); len(got) != 1 || got[0] != "dtmf" {
		t.Errorf("Models() = %v", got)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInferDTMF sends synthesised key presses and checks the transcript and
// the timestamps against the truth.
func TestInferDTMF(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{}))
	ctx := ctx(t)

	truth := []dtmf.Press{{Key: '1', Start: 0.10, End: 0.20}, {Key: '2', Start: 0.30, End: 0.34}, {Key: '#', Start: 0.50, End: 0.62}, {Key: '0', Start: 1.70, End: 1.80}, {Key: 'D', Start: 1.90, End: 2.05}}
	clip := dtmf.Synthesize(truth, sr, 2.5, dtmf.SynthOptions{NoiseDB: -30, FreqError: 0.015, Seed: 1})
	req := audioRequest(clip)
	req.Id = "req-7"
	req.Parameters = map[string]*pb.InferParameter{
		models.ParamTimestamps:  {ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}},
		models.ParamSourceLang:  {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "en"}},
		models.ParamTargetLang:  {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "de"}},
		models.ParamTask:        {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "asr"}},
		models.ParamPNC:         {ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}},
		"custom_int":            {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 3}},
		"priority":              {ParameterChoice: &pb.InferParameter_Uint64Param{Uint64Param: 1}}, // reserved: uint64 allowed
		"sequence_id":           {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 9}},
		"timeout":               {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 1000000}},
		"custom_double_setting": {ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: 0.5}},
	}
	resp, err := c.ModelInfer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Id != "req-7" || resp.ModelName != "dtmf" || resp.ModelVersion != "1" {
		t.Errorf("response header = %q %q %q", resp.Id, resp.ModelName, resp.ModelVersion)
	}
	for _, o := range resp.Outputs {
		if o.Datatype != "BYTES" || !equal(o.Shape, []int64{1, 1}) {
			t.Errorf("output %s: %s %v, want BYTES [1 1]", o.Name, o.Datatype, o.Shape)
		}
	}
	text := output(t, resp, models.OutputTranscript)
	if len(text) != 1 || text[0] != "1 2 # 0 D" {
		t.Errorf("TRANSCRIPT = %q, want [\"1 2 # 0 D\"]", text)
	}
	var ts tritontest.Timestamps
	if err := json.Unmarshal([]byte(output(t, resp, models.OutputTimestamps)[0]), &ts); err != nil {
		t.Fatal(err)
	}
	if len(ts.Words) != len(truth) {
		t.Fatalf("words %v, want %d", ts.Words, len(truth))
	}
	for i, w := range ts.Words {
		p := truth[i]
		if w.Word != string(p.Key) || math.Abs(w.Start-p.Start) > 0.015 || math.Abs(w.End-p.End) > 0.015 {
			t.Errorf("word %d = %+v, want %c [%.3f, %.3f]", i, w, p.Key, p.Start, p.End)
		}
	}
	// 0.62 -> 1.70 is a gap of more than a second: two segments.
	if len(ts.Segments) != 2 || ts.Segments[0].Text != "1 2 #" || ts.Segments[1].Text != "0 D" ||
		ts.Segments[0].Start != ts.Words[0].Start || ts.Segments[1].End != ts.Words[4].End {
		t.Errorf("segments = %+v", ts.Segments)
	}

	// The raw JSON has exactly the contract's keys.
	var raw map[string][]map[string]any
	_ = json.Unmarshal([]byte(output(t, resp, models.OutputTimestamps)[0]), &raw)
	for _, k := range []string{"word", "start", "end"} {
		if _, ok := raw["words"][0][k]; !ok {
			t.Errorf("word JSON lacks %q: %v", k, raw["words"][0])
		}
	}
	for _, k := range []string{"text", "start", "end"} {
		if _, ok := raw["segments"][0][k]; !ok {
			t.Errorf("segment JSON lacks %q: %v", k, raw["segments"][0])
		}
	}
}

func TestInferBatchAndOptions(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{}))
	ctx := ctx(t)
	clips := [][]float32{
		dtmf.Synthesize([]dtmf.Press{{Key: '5', Start: 0.1, End: 0.2}}, sr, 1, dtmf.SynthOptions{}),
		dtmf.Synthesize(nil, sr, 1, dtmf.SynthOptions{}),
		dtmf.Synthesize([]dtmf.Press{{Key: '*', Start: 0, End: 0.1}, {Key: '9', Start: 0.9, End: 1}}, sr, 1, dtmf.SynthOptions{}),
	}

	t.Run("batch of 3, each row its own clip", func(t *testing.T) {
		resp, err := c.ModelInfer(ctx, audioRequest(clips...))
		if err != nil {
			t.Fatal(err)
		}
		got := output(t, resp, models.OutputTranscript)
		want := []string{"5", "", "* 9"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("TRANSCRIPT = %q, want %q", got, want)
		}
		if ts := output(t, resp, models.OutputTimestamps); len(ts) != 3 || ts[1] != `{"words":[],"segments":[]}` {
			t.Errorf("TIMESTAMPS = %q", ts)
		}
		for _, o := range resp.Outputs {
			if !equal(o.Shape, []int64{3, 1}) {
				t.Errorf("%s shape %v, want [3 1]", o.Name, o.Shape)
			}
		}
	})

	t.Run("batch of max_batch_size", func(t *testing.T) {
		var b [][]float32
		for range tritontest.DTMFMaxBatchSize {
			b = append(b, clips[0])
		}
		resp, err := c.ModelInfer(ctx, audioRequest(b...))
		if err != nil {
			t.Fatal(err)
		}
		if got := output(t, resp, models.OutputTranscript); len(got) != tritontest.DTMFMaxBatchSize || got[7] != "5" {
			t.Errorf("TRANSCRIPT = %q", got)
		}
	})

	t.Run("fp32_contents instead of raw", func(t *testing.T) {
		req := audioRequest(clips[2])
		req.RawInputContents = nil
		req.Inputs[0].Contents = &pb.InferTensorContents{Fp32Contents: clips[2]}
		resp, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := output(t, resp, models.OutputTranscript); len(got) != 1 || got[0] != "* 9" {
			t.Errorf("TRANSCRIPT = %q", got)
		}
	})

	t.Run("only the requested output", func(t *testing.T) {
		req := audioRequest(clips[0])
		req.Outputs = []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: models.OutputTimestamps}}
		resp, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Outputs) != 1 || resp.Outputs[0].Name != models.OutputTimestamps || len(resp.RawOutputContents) != 1 {
			t.Errorf("outputs = %v", resp.Outputs)
		}
	})

	t.Run("timestamps false", func(t *testing.T) {
		req := audioRequest(clips[0])
		req.Parameters = map[string]*pb.InferParameter{models.ParamTimestamps: {ParameterChoice: &pb.InferParameter_BoolParam{}}}
		resp, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := output(t, resp, models.OutputTranscript); got[0] != "5" {
			t.Errorf("TRANSCRIPT = %q", got)
		}
		if got := output(t, resp, models.OutputTimestamps); got[0] != `{"words":[],"segments":[]}` {
			t.Errorf("TIMESTAMPS = %q", got)
		}
	})

	t.Run("empty clip", func(t *testing.T) {
		resp, err := c.ModelInfer(ctx, audioRequest([]float32{}))
		if err != nil {
			t.Fatal(err)
		}
		if got := output(t, resp, models.OutputTranscript); len(got) != 1 || got[0] != "" {
			t.Errorf("TRANSCRIPT = %q", got)
		}
	})
}

// TestInferValidation checks each refusal's status code (and the gist of
// Triton's message), and that every refusal counts as one failure and no
// inference.
func TestInferValidation(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{}))
	ctx := ctx(t)
	clip := make([]float32, 1600)
	param := func(p *pb.InferParameter) map[string]*pb.InferParameter {
		return map[string]*pb.InferParameter{"my_key": p}
	}
	cases := []struct {
		name   string
		edit   func(r *pb.ModelInferRequest)
		code   codes.Code
		substr string
		counts bool // reaches the model's statistics as a failure
		model  bool // refused by the model, not the server: no request id prefix
	}{
		{"wrong datatype", func(r *pb.ModelInferRequest) {
			r.Inputs[0].Datatype = "FP64"
			r.RawInputContents[0] = make([]byte, 1600*8)
		},
			codes.InvalidArgument, "data-type is 'FP64', but model 'dtmf' expects 'FP32'", true, false},
		{"missing batch dimension", func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{1600} },
			codes.InvalidArgument, "unexpected shape for input 'AUDIO' for model 'dtmf'. Expected [-1,-1], got [1600]", true, false},
		{"rank 3", func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{1, 1, 1600} },
			codes.InvalidArgument, "unexpected shape", true, false},
		{"negative dimension", func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{1, -1} },
			codes.InvalidArgument, "unexpected shape", true, false},
		{"batch over max_batch_size", func(r *pb.ModelInferRequest) {
			r.Inputs[0].Shape = []int64{9, 1600}
			r.RawInputContents[0] = make([]byte, 9*1600*4)
		}, codes.InvalidArgument, "batch-size must be <= 8", true, false},
		{"batch 0", func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{0, 1600} },
			codes.InvalidArgument, "batch-size must be >= 1", true, false},
		{"byte size mismatch", func(r *pb.ModelInferRequest) { r.RawInputContents[0] = r.RawInputContents[0][:6396] },
			codes.InvalidArgument, "input byte size mismatch for input 'AUDIO' for model 'dtmf'. Expected 6400, got 6396", true, false},
		{"huge shape", func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{1, 1 << 62} },
			codes.InvalidArgument, "input byte size mismatch", true, false},
		{"contents and raw", func(r *pb.ModelInferRequest) { r.Inputs[0].Contents = &pb.InferTensorContents{Fp32Contents: clip} },
			codes.InvalidArgument, "contents field must not be specified when using raw_input_contents", true, false},
		{"no data", func(r *pb.ModelInferRequest) { r.RawInputContents = nil },
			codes.InvalidArgument, "unable to find data for input tensor 'AUDIO'", true, false},
		{"fp32_contents too short", func(r *pb.ModelInferRequest) {
			r.RawInputContents = nil
			r.Inputs[0].Contents = &pb.InferTensorContents{Fp32Contents: clip[:10]}
		}, codes.InvalidArgument, "input byte size mismatch", true, false},
		{"unknown input", func(r *pb.ModelInferRequest) { r.Inputs[0].Name = "SPEECH" },
			codes.InvalidArgument, "unexpected inference input 'SPEECH' for model 'dtmf'", true, false},
		// Every audio input is optional, so Triton's core lets a request
		// without one through and the model refuses it.
		{"no inputs", func(r *pb.ModelInferRequest) { r.Inputs = nil; r.RawInputContents = nil },
			codes.InvalidArgument, "input 'AUDIO' is missing: send exactly one of AUDIO (FP32), AUDIO_PCM16 (INT16) or AUDIO_FLAC", true, true},
		{"uint64 custom parameter", func(r *pb.ModelInferRequest) {
			r.Parameters = param(&pb.InferParameter{ParameterChoice: &pb.InferParameter_Uint64Param{Uint64Param: 1}})
		}, codes.InvalidArgument, "uint64_param is not supported", true, false},
		{"uint64 contract parameter", func(r *pb.ModelInferRequest) {
			r.Parameters = map[string]*pb.InferParameter{models.ParamTask: {ParameterChoice: &pb.InferParameter_Uint64Param{Uint64Param: 1}}}
		}, codes.InvalidArgument, "uint64_param", true, false},
		{"triton_ key", func(r *pb.ModelInferRequest) {
			r.Parameters = map[string]*pb.InferParameter{"triton_x": {ParameterChoice: &pb.InferParameter_BoolParam{}}}
		}, codes.InvalidArgument, "reserved", true, false},
		{"reserved key of the wrong type", func(r *pb.ModelInferRequest) {
			r.Parameters = map[string]*pb.InferParameter{"sequence_start": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "yes"}}}
		}, codes.InvalidArgument, "sequence_start", true, false},
		{"timestamps not a bool", func(r *pb.ModelInferRequest) {
			r.Parameters = map[string]*pb.InferParameter{models.ParamTimestamps: {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "true"}}}
		}, codes.InvalidArgument, "timestamps", true, true},
		{"unknown requested output", func(r *pb.ModelInferRequest) {
			r.Outputs = []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: models.OutputTranscript}, {Name: "LOGITS"}}
		}, codes.InvalidArgument, "unexpected inference output 'LOGITS' for model 'dtmf'", true, false},
		{"unknown model", func(r *pb.ModelInferRequest) { r.ModelName = "x" },
			codes.NotFound, "Request for unknown model: 'x' is not found", false, false},
		{"unknown version", func(r *pb.ModelInferRequest) { r.ModelVersion = "3" },
			codes.NotFound, "version 3 is not found", false, false},
	}
	fails := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := audioRequest(clip)
			req.Id = "bad-1"
			tc.edit(req)
			_, err := c.ModelInfer(ctx, req)
			if code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.substr) {
				t.Fatalf("got %v, want %v containing %q", err, tc.code, tc.substr)
			}
			if tc.counts && !tc.model && !strings.HasPrefix(status.Convert(err).Message(), "[request id: bad-1] ") {
				t.Errorf("message %q does not carry the request id", status.Convert(err).Message())
			}
		})
		if tc.counts {
			fails++
		}
	}
	st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf"})
	if err != nil {
		t.Fatal(err)
	}
	s := st.ModelStats[0]
	if s.InferenceStats.Fail.Count != uint64(fails) || s.InferenceStats.Success.Count != 0 || s.InferenceCount != 0 || s.ExecutionCount != 0 {
		t.Errorf("stats after refusals: fail %d (want %d), success %d, inference %d, execution %d",
			s.InferenceStats.Fail.Count, fails, s.InferenceStats.Success.Count, s.InferenceCount, s.ExecutionCount)
	}
}

// TestUnknownModel: without namespacing Triton's lifecycle answers
// NOT_FOUND (model_lifecycle.cc); with it the name lookup answers
// INVALID_ARGUMENT (model_repository_manager.cc); the text is the same.
func TestUnknownModel(t *testing.T) {
	for _, tc := range []struct {
		namespacing, legacy bool
		code                codes.Code
	}{{false, false, codes.NotFound}, {true, false, codes.InvalidArgument}, {false, true, codes.NotFound}} {
		t.Run(fmt.Sprintf("namespacing=%v,legacy=%v", tc.namespacing, tc.legacy), func(t *testing.T) {
			c, _ := dial(t, tritontest.Start(t, tritontest.Options{Namespacing: tc.namespacing, LegacyModelReady: tc.legacy}))
			ctx := ctx(t)
			const want = "Request for unknown model: 'x' is not found"
			check := func(what string, err error) {
				t.Helper()
				if code(err) != tc.code || status.Convert(err).Message() != want {
					t.Errorf("%s: %v, want %v %q", what, err, tc.code, want)
				}
			}
			_, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "x"})
			check("ModelMetadata", err)
			_, err = c.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "x"})
			check("ModelConfig", err)
			_, err = c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "x"})
			check("ModelStatistics", err)
			req := audioRequest(make([]float32, 16))
			req.ModelName = "x"
			_, err = c.ModelInfer(ctx, req)
			check("ModelInfer", err)
			r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "x"})
			if tc.legacy {
				if err != nil || r.Ready {
					t.Errorf("legacy ModelReady = %v, %v; want false, no error", r, err)
				}
			} else {
				check("ModelReady", err)
			}
			idx, _ := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
			for _, m := range idx.GetModels() {
				if m.Name == "x" {
					t.Errorf("index lists unknown model")
				}
			}
		})
	}
}

func TestNotReady(t *testing.T) {
	const wait = 400 * time.Millisecond
	start := time.Now()
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{ReadyAfter: wait}))
	ctx := ctx(t)
	clip := make([]float32, 160)

	// Asked without a version, a loading model has no available
	// versions; asked for version 1, that version is not ready.
	const noVersions = "Request for unknown model: 'dtmf' has no available versions"
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); code(err) != codes.NotFound || status.Convert(err).Message() != noVersions {
		t.Errorf("ModelReady while loading = %v, %v; want NOT_FOUND %q", r, err, noVersions)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf", Version: "1"}); code(err) != codes.Unavailable || !strings.Contains(err.Error(), "version 1 is not at ready state") {
		t.Errorf("ModelReady(version 1) while loading = %v, %v; want UNAVAILABLE", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || r.Ready {
		t.Errorf("ServerReady while loading = %v, %v", r, err)
	}
	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive while loading = %v, %v", r, err)
	}
	if _, err := c.ModelInfer(ctx, audioRequest(clip)); code(err) != codes.NotFound || status.Convert(err).Message() != noVersions {
		t.Errorf("ModelInfer while loading: %v, want NOT_FOUND %q", err, noVersions)
	}
	if _, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "dtmf"}); code(err) != codes.NotFound {
		t.Errorf("ModelMetadata while loading: %v, want NOT_FOUND", err)
	}
	idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil || len(idx.Models) != 1 || idx.Models[0].State != "LOADING" || idx.Models[0].Reason == "" {
		t.Errorf("index while loading = %v, %v", idx, err)
	}
	if idx, _ := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true}); len(idx.GetModels()) != 0 {
		t.Errorf("ready index while loading = %v", idx)
	}
	if elapsed := time.Since(start); elapsed >= wait {
		t.Skipf("machine too slow: checks took %v", elapsed)
	}

	// RepositoryModelLoad returns when the model is ready.
	if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "dtmf"}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < wait {
		t.Errorf("load returned after %v, before the model was ready", time.Since(start))
	}
	if r, _ := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); !r.GetReady() {
		t.Error("not ready after ReadyAfter")
	}
	if _, err := c.ModelInfer(ctx, audioRequest(clip)); err != nil {
		t.Errorf("ModelInfer once ready: %v", err)
	}
	idx, _ = c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true})
	if len(idx.GetModels()) != 1 || idx.Models[0].State != "READY" {
		t.Errorf("ready index once ready = %v", idx)
	}
	// Requests refused while loading never reached the model.
	st, _ := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf"})
	if s := st.GetModelStats()[0].GetInferenceStats(); s.Success.Count != 1 || s.Fail.Count != 0 {
		t.Errorf("stats = %v", s)
	}
}

// TestStatistics checks exact counts after sequential and concurrent
// requests of several batch sizes, with some refused.
func TestStatistics(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{}))
	ctx := ctx(t)
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '7', Start: 0.1, End: 0.2}}, sr, 0.5, dtmf.SynthOptions{})
	bad := audioRequest(clip)
	bad.Inputs[0].Datatype = "INT32"

	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	before := uint64(time.Now().UnixMilli())
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				batch := make([][]float32, 1+w%3) // batch sizes 1, 2, 3
				for i := range batch {
					batch[i] = clip
				}
				if _, err := c.ModelInfer(ctx, audioRequest(batch...)); err != nil {
					errs <- err
				}
				if _, err := c.ModelInfer(ctx, bad); code(err) != codes.InvalidArgument {
					errs <- errors.New("bad request not refused")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	s := st.ModelStats[0]
	// Workers 0..7 send batches of 1,2,3,1,2,3,1,2: 15 clips per round.
	wantInferences := uint64(each * (1 + 2 + 3 + 1 + 2 + 3 + 1 + 2))
	is := s.InferenceStats
	switch {
	case s.Name != "dtmf" || s.Version != "1":
		t.Errorf("name/version %q %q", s.Name, s.Version)
	case s.InferenceCount != wantInferences:
		t.Errorf("inference_count %d, want %d", s.InferenceCount, wantInferences)
	case s.ExecutionCount != workers*each:
		t.Errorf("execution_count %d, want %d", s.ExecutionCount, workers*each)
	case is.Success.Count != workers*each || is.Fail.Count != workers*each:
		t.Errorf("success %d fail %d, want %d each", is.Success.Count, is.Fail.Count, workers*each)
	case is.Queue.Count != workers*each || is.ComputeInfer.Count != workers*each ||
		is.ComputeInput.Count != workers*each || is.ComputeOutput.Count != workers*each:
		t.Errorf("queue/compute counts %v", is)
	case is.ComputeInfer.Ns == 0 || is.Success.Ns < is.ComputeInfer.Ns || is.Fail.Ns == 0:
		t.Errorf("durations %v", is)
	case s.LastInference < before || s.LastInference > uint64(time.Now().UnixMilli()):
		t.Errorf("last_inference %d not in [%d, now]", s.LastInference, before)
	}
	wantBatches := map[uint64]uint64{1: 3 * each, 2: 3 * each, 3: 2 * each}
	if len(s.BatchStats) != 3 {
		t.Fatalf("batch_stats %v", s.BatchStats)
	}
	for _, b := range s.BatchStats {
		if b.ComputeInfer.Count != wantBatches[b.BatchSize] {
			t.Errorf("batch size %d: %d executions, want %d", b.BatchSize, b.ComputeInfer.Count, wantBatches[b.BatchSize])
		}
	}
}

// TestFailRateSeeded runs the same call sequence against two servers with
// the same seed and expects the same answers.
func TestFailRateSeeded(t *testing.T) {
	run := func(opts tritontest.Options) (pattern string, fails uint64) {
		c, _ := dial(t, tritontest.Start(t, opts))
		ctx := ctx(t)
		var b strings.Builder
		for range 40 {
			_, err := c.ModelInfer(ctx, audioRequest(make([]float32, 160)))
			switch code(err) {
			case codes.OK:
				b.WriteByte('.')
			case codes.Unavailable:
				b.WriteByte('x')
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf"})
		if err != nil {
			t.Fatal(err)
		}
		return b.String(), st.ModelStats[0].InferenceStats.Fail.Count
	}
	a, failsA := run(tritontest.Options{FailRate: 0.3, Seed: 42})
	b, _ := run(tritontest.Options{FailRate: 0.3, Seed: 42})
	other, _ := run(tritontest.Options{FailRate: 0.3, Seed: 43})
	t.Logf("seed 42: %s\nseed 43: %s", a, other)
	if a != b {
		t.Errorf("same seed, different answers:\n%s\n%s", a, b)
	}
	if a == other {
		t.Errorf("seeds 42 and 43 answered alike: %s", a)
	}
	n := strings.Count(a, "x")
	if n == 0 || n == len(a) {
		t.Errorf("fail rate 0.3 failed %d of %d", n, len(a))
	}
	if failsA != uint64(n) {
		t.Errorf("fail count %d, want %d", failsA, n)
	}
	if none, _ := run(tritontest.Options{}); strings.Contains(none, "x") {
		t.Errorf("no fail rate but failures: %s", none)
	}
}

func TestLatency(t *testing.T) {
	const latency = 150 * time.Millisecond
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{Latency: latency}))
	ctx := ctx(t)
	start := time.Now()
	if _, err := c.ModelInfer(ctx, audioRequest(make([]float32, 160))); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < latency {
		t.Errorf("answered in %v, latency is %v", el, latency)
	}
	// A caller's deadline shorter than the latency ends the call.
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := c.ModelInfer(short, audioRequest(make([]float32, 160))); code(err) != codes.DeadlineExceeded {
		t.Errorf("short deadline: %v", err)
	}
	// Metadata calls are not delayed.
	start = time.Now()
	if _, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "dtmf"}); err != nil || time.Since(start) > latency {
		t.Errorf("metadata took %v (%v)", time.Since(start), err)
	}
	st, _ := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "dtmf"})
	if q := st.GetModelStats()[0].GetInferenceStats().GetQueue(); q.Count != 1 || q.Ns < uint64(latency) {
		t.Errorf("queue %v, want one request of at least %v", q, latency)
	}
}

func TestStreamInfer(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{}))
	ctx := ctx(t)
	stream, err := c.ModelStreamInfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '3', Start: 0.1, End: 0.2}, {Key: 'C', Start: 0.3, End: 0.4}}, sr, 0.5, dtmf.SynthOptions{})
	good := func(id string) *pb.ModelInferRequest { r := audioRequest(clip); r.Id = id; return r }
	badType := good("b1")
	badType.Inputs[0].Datatype = "FP16"
	unknown := good("b2")
	unknown.ModelName = "x"
	reqs := []*pb.ModelInferRequest{good("g1"), badType, unknown, good("g2")}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range reqs {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if resp.InferResponse.GetId() != r.Id {
			t.Errorf("response %d id %q, want %q", i, resp.InferResponse.GetId(), r.Id)
		}
		isGood := strings.HasPrefix(r.Id, "g")
		switch {
		case isGood && resp.ErrorMessage != "":
			t.Errorf("response %d: error %q", i, resp.ErrorMessage)
		case isGood:
			if got := output(t, resp.InferResponse, models.OutputTranscript); got[0] != "3 C" {
				t.Errorf("response %d: TRANSCRIPT %q", i, got)
			}
		case resp.ErrorMessage == "":
			t.Errorf("response %d: no error for a bad request", i)
		}
	}
	// The stream is still open after the errors.
	if err := stream.Send(good("g3")); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.ErrorMessage != "" || resp.InferResponse.Id != "g3" {
		t.Fatalf("after errors: %v, %v", resp, err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after CloseSend: %v, want EOF", err)
	}
}

// echoModel is a non-batching model with a BYTES input, to exercise the
// server with a config unlike dtmf's.
type echoModel struct{ decoupled bool }

func (m echoModel) Config() *pb.ModelConfig {
	return &pb.ModelConfig{
		Name:  map[bool]string{false: "echo", true: "echo_decoupled"}[m.decoupled],
		Input: []*pb.ModelInput{{Name: "IN", DataType: pb.DataType_TYPE_STRING, Dims: []int64{2}}},
		Output: []*pb.ModelOutput{
			{Name: "OUT", DataType: pb.DataType_TYPE_STRING, Dims: []int64{2}},
			{Name: "LEN", DataType: pb.DataType_TYPE_INT32, Dims: []int64{1}},
		},
		ModelTransactionPolicy: &pb.ModelTransactionPolicy{Decoupled: m.decoupled},
	}
}

func (echoModel) Execute(_ context.Context, in []tritontest.Tensor, _ map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	return []tritontest.Tensor{
		{Name: "LEN", Datatype: "INT32", Shape: []int64{1}, Data: binary.LittleEndian.AppendUint32(nil, uint32(len(in[0].Data)))},
		{Name: "OUT", Datatype: "BYTES", Shape: in[0].Shape, Data: in[0].Data},
	}, nil
}

func TestCustomModel(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{echoModel{}, echoModel{decoupled: true}}}))
	ctx := ctx(t)
	mm, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "echo"})
	if err != nil || !equal(mm.Inputs[0].Shape, []int64{2}) || mm.Inputs[0].Datatype != "BYTES" {
		t.Fatalf("metadata %v, %v", mm, err)
	}
	req := &pb.ModelInferRequest{
		ModelName: "echo",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{
			Name: "IN", Datatype: "BYTES", Shape: []int64{2},
			Contents: &pb.InferTensorContents{BytesContents: [][]byte{[]byte("héllo"), {}}},
		}},
	}
	resp, err := c.ModelInfer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Outputs come in the model's order, matched here by name.
	if resp.Outputs[0].Name != "LEN" {
		t.Errorf("outputs in order %v", resp.Outputs)
	}
	if got := output(t, resp, "OUT"); len(got) != 2 || got[0] != "héllo" || got[1] != "" {
		t.Errorf("OUT = %q", got)
	}
	// Raw BYTES with a wrong element count, and a batch dimension the model
	// does not have.
	req.Inputs[0].Contents = nil
	req.RawInputContents = [][]byte{triton.EncodeBytes([][]byte{[]byte("a")})}
	if _, err := c.ModelInfer(ctx, req); code(err) != codes.InvalidArgument {
		t.Errorf("one element for shape [2]: %v", err)
	}
	req.RawInputContents = [][]byte{triton.EncodeBytes([][]byte{[]byte("a"), []byte("b")})}
	req.Inputs[0].Shape = []int64{1, 2}
	if _, err := c.ModelInfer(ctx, req); code(err) != codes.InvalidArgument {
		t.Errorf("batch dim on a non-batching model: %v", err)
	}
	req.ModelName = "echo_decoupled"
	req.Inputs[0].Shape = []int64{2}
	if _, err := c.ModelInfer(ctx, req); code(err) != codes.Unimplemented {
		t.Errorf("ModelInfer on a decoupled model: %v", err)
	}
	idx, _ := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if len(idx.GetModels()) != 2 || idx.Models[0].Name != "echo" {
		t.Errorf("index %v", idx)
	}
}

func TestDatatypeNames(t *testing.T) {
	if tritontest.DatatypeName(pb.DataType_TYPE_STRING) != "BYTES" || tritontest.DataTypeOf("FP32") != pb.DataType_TYPE_FP32 {
		t.Error("datatype names")
	}
}
