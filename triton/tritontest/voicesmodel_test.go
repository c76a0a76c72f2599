package tritontest_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

// spanRequest asks the voices model for the embeddings of spans ([start,
// end) samples, one list per chunk) of each chunk.
func spanRequest(chunks [][]float32, spans [][][2]int64) *pb.ModelInferRequest {
	n := len(chunks[0])
	var audio []float32
	for _, c := range chunks {
		audio = append(audio, c...)
	}
	var raw []byte
	for _, row := range spans {
		for _, s := range row {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(s[0]))
			raw = binary.LittleEndian.AppendUint64(raw, uint64(s[1]))
		}
	}
	return &pb.ModelInferRequest{
		ModelName: tritontest.VoicesModelName,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: []int64{int64(len(chunks)), int64(n)}},
			{Name: models.InputSpans, Datatype: models.DatatypeINT64, Shape: []int64{int64(len(spans)), int64(len(spans[0])), 2}},
		},
		RawInputContents: [][]byte{triton.EncodeFP32(audio), raw},
	}
}

// embeddingsOf decodes EMBEDDINGS [batch, S, D] into rows per chunk.
func embeddingsOf(t *testing.T, resp *pb.ModelInferResponse) [][][]float32 {
	t.Helper()
	for i, o := range resp.GetOutputs() {
		if o.GetName() != models.OutputEmbeddings {
			continue
		}
		if o.GetDatatype() != models.DatatypeFP32 || len(o.GetShape()) != 3 || o.GetShape()[2] != voices.EmbeddingSize {
			t.Fatalf("EMBEDDINGS %s %v", o.GetDatatype(), o.GetShape())
		}
		flat, err := triton.DecodeFP32(resp.GetRawOutputContents()[i])
		if err != nil {
			t.Fatal(err)
		}
		b, s, d := o.GetShape()[0], o.GetShape()[1], o.GetShape()[2]
		out := make([][][]float32, b)
		for r := range b {
			for k := range s {
				out[r] = append(out[r], flat[(r*s+k)*d:(r*s+k+1)*d])
			}
		}
		return out
	}
	t.Fatal("no EMBEDDINGS")
	return nil
}

func pressSpan(p dtmf.Press) [2]int64 {
	return [2]int64{int64(math.Round(p.Start * sr)), int64(math.Round(p.End * sr))}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestVoicesConfigFollowsTheSpeakerContract(t *testing.T) {
	c := models.Contract().Speaker
	cfg := tritontest.Voices().Config()
	if cfg.GetName() != "voices" || int(cfg.GetMaxBatchSize()) < c.MaxBatchSizeMin {
		t.Errorf("name %q max_batch_size %d", cfg.GetName(), cfg.GetMaxBatchSize())
	}
	if len(cfg.GetInput()) != len(c.Inputs) || len(cfg.GetOutput()) != len(c.Outputs) {
		t.Fatalf("inputs %v outputs %v", cfg.GetInput(), cfg.GetOutput())
	}
	for i, in := range c.Inputs {
		got := cfg.GetInput()[i]
		if got.GetName() != in.Name || tritontest.DatatypeName(got.GetDataType()) != in.Datatype || fmt.Sprint(got.GetDims()) != fmt.Sprint(in.Dims) || !got.GetAllowRaggedBatch() {
			t.Errorf("input %d = %v, want %+v, ragged", i, got, in)
		}
	}
	out := cfg.GetOutput()[0]
	if out.GetName() != c.Outputs[0].Name || tritontest.DatatypeName(out.GetDataType()) != c.Outputs[0].Datatype || fmt.Sprint(out.GetDims()) != fmt.Sprint(c.Outputs[0].Dims) {
		t.Errorf("output %v, want %+v", out, c.Outputs[0])
	}
	params := map[string]string{}
	for k, v := range cfg.GetParameters() {
		params[k] = v.GetStringValue()
	}
	p, err := models.ParseSpeakerParameters(params)
	if err != nil || p.EmbeddingSize != voices.EmbeddingSize || p.MinSpanSeconds != voices.MinSpan || p.MaxSpans != tritontest.VoicesMaxSpans {
		t.Errorf("speaker parameters %+v, %v", p, err)
	}
	if models.IsSpeakerModel(map[string]string{"sample_rate": "16000"}) {
		t.Error("the dtmf model's parameters read as a speaker model's")
	}
}

// TestInferVoices: a recording of three voices, one embedding per press;
// presses of one voice are alike on any key and at any position, presses
// of different voices are not, and a span under the minimum is a zero row.
func TestInferVoices(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{tritontest.DTMF(), tritontest.Voices()}})
	c, _ := dial(t, addr)
	f0s := []float64{110, 150, 205}
	keys := "159#0*2D7"
	var presses []voices.Press
	for i, k := range keys {
		start := 0.2 + 0.6*float64(i)
		presses = append(presses, voices.Press{Press: dtmf.Press{Key: k, Start: start, End: start + 0.25 + 0.05*float64(i%3)}, F0: f0s[i%3]})
	}
	x := voices.Synthesize(presses, sr, 6, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})
	var spans [][2]int64
	for _, p := range presses {
		spans = append(spans, pressSpan(p.Press))
	}
	spans = append(spans, [2]int64{1000, 1000 + int64(voices.MinSpan*sr) - 1}) // too short: a zero row

	resp, err := c.ModelInfer(ctx(t), spanRequest([][]float32{x}, [][][2]int64{spans}))
	if err != nil {
		t.Fatal(err)
	}
	e := embeddingsOf(t, resp)[0]
	if len(e) != len(spans) {
		t.Fatalf("%d rows for %d spans", len(e), len(spans))
	}
	for i := range presses {
		if n := norm(e[i]); math.Abs(n-1) > 1e-5 {
			t.Errorf("row %d has norm %v", i, n)
		}
		for j := range i {
			s := voices.Cosine(e[i], e[j])
			if same := i%3 == j%3; same && s < 0.95 || !same && s > 0.25 {
				t.Errorf("presses %d and %d (same voice %v): similarity %.3f", i, j, same, s)
			}
		}
	}
	if n := norm(e[len(e)-1]); n != 0 {
		t.Errorf("a span shorter than %g s: norm %v, want a zero row", voices.MinSpan, n)
	}

	// The dtmf model hears the same keys, exactly, with the voices there.
	dresp, err := c.ModelInfer(ctx(t), audioRequest(x))
	if err != nil {
		t.Fatal(err)
	}
	if got := output(t, dresp, models.OutputTranscript)[0]; got != strings.Join(strings.Split(keys, ""), " ") {
		t.Errorf("dtmf heard %q under the voices", got)
	}
}

// TestVoicesTenPercentApart: pairs of voices 10% apart, from 0.25 s spans
// in one batched request, one pair per chunk.
func TestVoicesTenPercentApart(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{tritontest.Voices()}})
	c, _ := dial(t, addr)
	cases := []struct{ f, g float64 }{{90, 99}, {120, 132}, {180, 198}, {250, 275}, {290, 319}}
	var chunks [][]float32
	var spans [][][2]int64
	for i, tc := range cases {
		ps := []voices.Press{
			{Press: dtmf.Press{Key: '3', Start: 0.1, End: 0.35}, F0: tc.f},
			{Press: dtmf.Press{Key: '3', Start: 0.5, End: 0.75}, F0: tc.g},
			{Press: dtmf.Press{Key: 'C', Start: 0.9, End: 1.15}, F0: tc.f},
		}
		chunks = append(chunks, voices.Synthesize(ps, sr, 1.2, dtmf.SynthOptions{NoiseDB: -40, Seed: uint64(i)}))
		spans = append(spans, [][2]int64{pressSpan(ps[0].Press), pressSpan(ps[1].Press), pressSpan(ps[2].Press)})
	}
	resp, err := c.ModelInfer(ctx(t), spanRequest(chunks, spans))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range embeddingsOf(t, resp) {
		same, apart := voices.Cosine(e[0], e[2]), max(voices.Cosine(e[0], e[1]), voices.Cosine(e[1], e[2]))
		if same < 0.95 || apart > 0.25 || same-apart < 0.7 {
			t.Errorf("%g and %g Hz: same voice %.3f, 10%% apart %.3f", cases[i].f, cases[i].g, same, apart)
		}
	}
}

// TestVoicesBadSpans: spans the model cannot take are INVALID_ARGUMENT,
// from the server's checks (shape, datatype, batch) or the model's.
func TestVoicesBadSpans(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{tritontest.Voices()}})
	c, _ := dial(t, addr)
	x := make([]float32, sr) // 1 s
	many := make([][2]int64, tritontest.VoicesMaxSpans+1)
	for i := range many {
		many[i] = [2]int64{0, 2000}
	}
	cases := []struct {
		name string
		req  *pb.ModelInferRequest
		want string
	}{
		{"start before the chunk", spanRequest([][]float32{x}, [][][2]int64{{{0, 4000}, {-1, 4000}}}), "span 1 [-1, 4000) of chunk 0 is outside the chunk's 16000 samples"},
		{"end past the chunk", spanRequest([][]float32{x}, [][][2]int64{{{0, 16001}}}), "outside the chunk's 16000 samples"},
		{"empty", spanRequest([][]float32{x}, [][][2]int64{{{500, 500}}}), "end must be after start"},
		{"reversed", spanRequest([][]float32{x}, [][][2]int64{{{9000, 100}}}), "end must be after start"},
		{"second chunk", spanRequest([][]float32{x, x}, [][][2]int64{{{0, 4000}}, {{0, 20000}}}), "of chunk 1 is outside"},
		{"too many", spanRequest([][]float32{x}, [][][2]int64{many}), "at most 256"},
	}
	bad := spanRequest([][]float32{x}, [][][2]int64{{{0, 4000}}})
	bad.Inputs[1].Datatype = "INT32"
	bad.RawInputContents[1] = bad.RawInputContents[1][:8]
	cases = append(cases, struct {
		name string
		req  *pb.ModelInferRequest
		want string
	}{"INT32 spans", bad, "data-type is 'INT32', but model 'voices' expects 'INT64'"})
	shape := spanRequest([][]float32{x}, [][][2]int64{{{0, 4000}}})
	shape.Inputs[1].Shape = []int64{1, 2}
	cases = append(cases, struct {
		name string
		req  *pb.ModelInferRequest
		want string
	}{"SPANS without pairs", shape, "unexpected shape for input 'SPANS'"})
	rows := spanRequest([][]float32{x, x}, [][][2]int64{{{0, 4000}}})
	cases = append(cases, struct {
		name string
		req  *pb.ModelInferRequest
		want string
	}{"fewer span rows than chunks", rows, "has batch size 1 but other inputs have 2"})
	missing := spanRequest([][]float32{x}, [][][2]int64{{{0, 4000}}})
	missing.Inputs, missing.RawInputContents = missing.Inputs[:1], missing.RawInputContents[:1]
	cases = append(cases, struct {
		name string
		req  *pb.ModelInferRequest
		want string
	}{"no SPANS", missing, "expected 2 inputs but got 1 inputs"})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ModelInfer(ctx(t), tc.req)
			if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ModelInfer: %v, want INVALID_ARGUMENT with %q", err, tc.want)
			}
		})
	}
	// A chunk with no spans is not an error: EMBEDDINGS [1, 0, D].
	none := spanRequest([][]float32{x}, [][][2]int64{{{0, 1}}})
	none.Inputs[1].Shape = []int64{1, 0, 2}
	none.RawInputContents[1] = nil
	resp, err := c.ModelInfer(ctx(t), none)
	if err != nil {
		t.Fatal(err)
	}
	if s := resp.GetOutputs()[0].GetShape(); fmt.Sprint(s) != fmt.Sprint([]int64{1, 0, voices.EmbeddingSize}) {
		t.Errorf("no spans: shape %v", s)
	}
}
