package tritontest_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/backend/flacenc"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// to16 rounds clips to 16-bit samples, as a 16-bit source is.
func to16(clip []float32) []int16 {
	out := make([]int16, len(clip))
	for i, v := range clip {
		out[i] = int16(max(-32768, min(32767, math.Round(float64(v)*32768))))
	}
	return out
}

func pcmRequest(clips ...[]int16) *pb.ModelInferRequest {
	var raw []byte
	for _, c := range clips {
		for _, v := range c {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
		}
	}
	return &pb.ModelInferRequest{
		ModelName: tritontest.DTMFModelName,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: models.InputAudioPCM16, Datatype: models.DatatypeINT16, Shape: []int64{int64(len(clips)), int64(len(clips[0]))}},
		},
		RawInputContents: [][]byte{raw},
	}
}

func flacRequest(streams ...[]byte) *pb.ModelInferRequest {
	return &pb.ModelInferRequest{
		ModelName: tritontest.DTMFModelName,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: models.InputAudioFLAC, Datatype: models.DatatypeBytes, Shape: []int64{int64(len(streams)), 1}},
		},
		RawInputContents: [][]byte{triton.EncodeBytes(streams)},
	}
}

// TestCompactFormsHearTheSame: the dtmf model answers the same TRANSCRIPT
// and TIMESTAMPS for a 16-bit clip sent as AUDIO, AUDIO_PCM16 and
// AUDIO_FLAC, in a batch of two rows.
func TestCompactFormsHearTheSame(t *testing.T) {
	c, _ := dial(t, tritontest.Start(t, tritontest.Options{}))
	ctx := ctx(t)
	truth := []dtmf.Press{{Key: '4', Start: 0.10, End: 0.22}, {Key: '*', Start: 0.40, End: 0.45}, {Key: 'B', Start: 1.60, End: 1.80}}
	a := to16(dtmf.Synthesize(truth, sr, 2.0, dtmf.SynthOptions{NoiseDB: -30, Seed: 3}))
	b := to16(dtmf.Synthesize(truth[1:], sr, 2.0, dtmf.SynthOptions{NoiseDB: -40, Seed: 4}))
	fp := func(s []int16) []float32 {
		out := make([]float32, len(s))
		for i, v := range s {
			out[i] = float32(v) / 32768
		}
		return out
	}
	var want []string
	for i, req := range []*pb.ModelInferRequest{
		audioRequest(fp(a), fp(b)),
		pcmRequest(a, b),
		flacRequest(flacenc.Encode(a, sr), flacenc.Encode(b, sr)),
	} {
		resp, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatalf("form %d: %v", i, err)
		}
		got := append(output(t, resp, models.OutputTranscript), output(t, resp, models.OutputTimestamps)...)
		if i == 0 {
			want = got
			if got[0] != "4 * B" || got[1] != "* B" {
				t.Fatalf("FP32 TRANSCRIPT = %q", got[:2])
			}
			continue
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s heard %q, AUDIO %q", req.Inputs[0].Name, got, want)
		}
	}
}

func TestCompactFormRefusals(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{
		tritontest.DTMF(),
		tritontest.DTMFWith(tritontest.DTMFOptions{Name: "plain", FP32Only: true}),
	}})
	c, _ := dial(t, addr)
	ctx := ctx(t)
	clip := make([]int16, 1600)
	two := pcmRequest(clip)
	two.Inputs = append(two.Inputs, audioRequest(make([]float32, 1600)).Inputs[0])
	two.RawInputContents = append(two.RawInputContents, make([]byte, 4*1600))
	at8k := flacenc.Encode(clip, 8000) // a stream at another rate
	plain := func(r *pb.ModelInferRequest) *pb.ModelInferRequest { r.ModelName = "plain"; return r }
	for _, tc := range []struct {
		name   string
		req    *pb.ModelInferRequest
		code   codes.Code
		substr string
	}{
		{"two audio inputs", two, codes.InvalidArgument, "the request carries 2 audio inputs (AUDIO, AUDIO_PCM16): send exactly one"},
		{"garbage FLAC", flacRequest([]byte("not a flac stream")), codes.InvalidArgument, "row 0 is not a FLAC stream this model can read"},
		{"FLAC at 8 kHz", flacRequest(at8k), codes.InvalidArgument, "want 16000 Hz mono 16-bit FLAC, got 8000 Hz"},
		{"PCM16 as INT32", func() *pb.ModelInferRequest {
			r := pcmRequest(clip)
			r.Inputs[0].Datatype = "INT32"
			r.RawInputContents[0] = make([]byte, 4*1600)
			return r
		}(), codes.InvalidArgument, "inference input 'AUDIO_PCM16' data-type is 'INT32', but model 'dtmf' expects 'INT16'"},
		{"FLAC shape", func() *pb.ModelInferRequest {
			r := flacRequest(flacenc.Encode(clip, sr))
			r.Inputs[0].Shape = []int64{1, 2}
			return r
		}(), codes.InvalidArgument, "unexpected shape for input 'AUDIO_FLAC'"},
		{"plain model: PCM16", plain(pcmRequest(clip)), codes.InvalidArgument, "unexpected inference input 'AUDIO_PCM16' for model 'plain'"},
		{"plain model: no inputs", plain(&pb.ModelInferRequest{}), codes.InvalidArgument, "expected 1 inputs but got 0 inputs for model 'plain'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ModelInfer(ctx, tc.req)
			if code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.substr) {
				t.Fatalf("got %v, want %v containing %q", err, tc.code, tc.substr)
			}
		})
	}
	// The plain model declares AUDIO alone, required, and still hears it.
	mm, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "plain"})
	if err != nil || len(mm.Inputs) != 1 || mm.Inputs[0].Name != models.InputAudio {
		t.Fatalf("plain metadata = %v, %v", mm, err)
	}
	cfg, err := c.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "plain"})
	if err != nil || cfg.Config.Input[0].Optional {
		t.Fatalf("plain config = %v, %v: AUDIO must be required", cfg, err)
	}
	if _, err := c.ModelInfer(ctx, plain(audioRequest(make([]float32, 1600)))); err != nil {
		t.Fatal(err)
	}
}
