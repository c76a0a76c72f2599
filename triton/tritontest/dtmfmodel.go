package tritontest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

const (
	// DTMFModelName is the name of the model New hosts by default.
	DTMFModelName = "dtmf"
	// DTMFMaxBatchSize is its max_batch_size: a request carries up to this
	// many clips, one per row of AUDIO.
	DTMFMaxBatchSize = 8
)

// DTMF returns the dtmf test model. It follows the model contract
// (models/contract.json): AUDIO is FP32 [-1] at the contract's sample rate,
// batched; TRANSCRIPT and TIMESTAMPS are BYTES [1] per clip. Each detected
// key press (see package dtmf) is one word whose text is the key, and a
// pause of a second or more ends a segment. Of the contract's parameters it
// reads only "timestamps" (a bool, true when absent); when false, TIMESTAMPS
// holds empty lists.
func DTMF() Model { return DTMFWith(DTMFOptions{}) }

// DTMFOptions vary the dtmf model.
type DTMFOptions struct {
	// SkipCompute answers every clip with an empty TRANSCRIPT and
	// TIMESTAMPS without looking at the audio, so that throughput tests
	// measure the client and the batcher rather than the detector.
	SkipCompute bool
	// Name replaces "dtmf", for tests that host several models.
	Name string
	// Instances replaces the one CPU instance, as config.pbtxt's
	// instance_group would (e.g. KIND_GPU on gpus [0, 1]).
	Instances []*pb.ModelInstanceGroup
}

// DTMFWith returns the dtmf model with options.
func DTMFWith(opts DTMFOptions) Model {
	c := models.Contract()
	name := cmp.Or(opts.Name, DTMFModelName)
	cfg := &pb.ModelConfig{
		Name:         name,
		Backend:      "tritontest",
		MaxBatchSize: int32(max(DTMFMaxBatchSize, c.MaxBatchSizeMin)),
		InstanceGroup: []*pb.ModelInstanceGroup{
			{Name: name, Count: 1, Kind: pb.ModelInstanceGroup_KIND_CPU},
		},
		Parameters: map[string]*pb.ModelParameter{
			"sample_rate": {StringValue: fmt.Sprint(c.SampleRate)},
		},
	}
	for _, in := range c.Inputs {
		cfg.Input = append(cfg.Input, &pb.ModelInput{Name: in.Name, DataType: DataTypeOf(in.Datatype), Dims: in.Dims})
	}
	for _, out := range c.Outputs {
		cfg.Output = append(cfg.Output, &pb.ModelOutput{Name: out.Name, DataType: DataTypeOf(out.Datatype), Dims: out.Dims})
	}
	if opts.Instances != nil {
		cfg.InstanceGroup = opts.Instances
	}
	if opts.SkipCompute {
		cfg.Parameters["skip_compute"] = &pb.ModelParameter{StringValue: "true"}
	}
	return &dtmfModel{cfg: cfg, sampleRate: c.SampleRate, skip: opts.SkipCompute}
}

type dtmfModel struct {
	cfg        *pb.ModelConfig
	sampleRate int
	skip       bool
}

func (m *dtmfModel) Config() *pb.ModelConfig { return proto.Clone(m.cfg).(*pb.ModelConfig) }

// Timestamps is the JSON the dtmf model writes to TIMESTAMPS: times are
// seconds from the start of the clip.
type Timestamps struct {
	Words    []TimestampWord    `json:"words"`
	Segments []TimestampSegment `json:"segments"`
}

// TimestampWord is one word of Timestamps.
type TimestampWord struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// TimestampSegment is one segment of Timestamps.
type TimestampSegment struct {
	Text  string  `json:"text"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

func (m *dtmfModel) Execute(ctx context.Context, inputs []Tensor, params map[string]*pb.InferParameter) ([]Tensor, error) {
	withTimes := true
	if p, ok := params[models.ParamTimestamps]; ok {
		b, isBool := p.GetParameterChoice().(*pb.InferParameter_BoolParam)
		if !isBool {
			return nil, status.Errorf(codes.InvalidArgument, "parameter '%s' must be a bool", models.ParamTimestamps)
		}
		withTimes = b.BoolParam
	}
	audio := inputs[0] // the server checked name, datatype, shape [batch, N] and size
	batch, n := audio.Shape[0], audio.Shape[1]
	texts := make([][]byte, batch)
	times := make([][]byte, batch)
	for b := range batch {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if m.skip {
			texts[b], times[b] = []byte{}, []byte{}
			continue
		}
		clip, err := triton.DecodeFP32(audio.Data[b*n*4 : (b+1)*n*4])
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		presses := dtmf.Detect(clip, m.sampleRate)
		texts[b] = []byte(dtmf.Text(presses))
		ts := Timestamps{Words: []TimestampWord{}, Segments: []TimestampSegment{}}
		if withTimes {
			for _, p := range presses {
				ts.Words = append(ts.Words, TimestampWord{Word: string(p.Key), Start: ms(p.Start), End: ms(p.End)})
			}
			for _, s := range dtmf.Segments(presses) {
				ts.Segments = append(ts.Segments, TimestampSegment{Text: s.Text, Start: ms(s.Start), End: ms(s.End)})
			}
		}
		if times[b], err = json.Marshal(ts); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	shape := []int64{batch, 1}
	return []Tensor{
		{Name: models.OutputTranscript, Datatype: models.DatatypeBytes, Shape: shape, Data: triton.EncodeBytes(texts)},
		{Name: models.OutputTimestamps, Datatype: models.DatatypeBytes, Shape: shape, Data: triton.EncodeBytes(times)},
	}, nil
}

// ms rounds seconds to the millisecond, which keeps the JSON short.
func ms(sec float64) float64 { return math.Round(sec*1000) / 1000 }
