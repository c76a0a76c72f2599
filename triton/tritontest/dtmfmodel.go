package tritontest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/mewkiz/flac"

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
// (models/contract.json): audio at the contract's sample rate, batched, as
// exactly one of AUDIO (FP32 [-1]), AUDIO_PCM16 (INT16 [-1], heard as
// s/32768) or AUDIO_FLAC (BYTES [1], one FLAC stream per clip, decoded
// with mewkiz/flac to the same INT16 samples), all three optional inputs;
// TRANSCRIPT and TIMESTAMPS are BYTES [1] per clip. Each detected
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
	// FP32Only declares AUDIO alone, as a required input, as a plain
	// Triton model (and our independent test peer) does: a client must
	// fall back to FP32 for it.
	FP32Only bool
	// Inputs, when set, replace the declared inputs altogether (for tests
	// of a model that declares a compact form wrongly). Execute still
	// reads the audio inputs it knows by name.
	Inputs []*pb.ModelInput
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
	audio := c.AudioInputs()
	if opts.FP32Only {
		audio = []models.Tensor{{Name: models.InputAudio, Datatype: models.DatatypeFP32, Dims: []int64{-1}}}
	}
	for _, in := range audio {
		cfg.Input = append(cfg.Input, &pb.ModelInput{Name: in.Name, DataType: DataTypeOf(in.Datatype), Dims: in.Dims, Optional: in.Optional})
	}
	if opts.Inputs != nil {
		cfg.Input = opts.Inputs
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
	// The server checked each input's datatype, shape and size against the
	// config, and that it is declared; which one came is ours to check.
	audio, err := audioInput(inputs)
	if err != nil {
		return nil, err
	}
	batch := audio.Shape[0]
	clips, err := decodeClips(audio, m.skip)
	if err != nil {
		return nil, err
	}
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
		presses := dtmf.Detect(clips[b], m.sampleRate)
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
		var err error
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

// audioInput is the one audio input of a request, as the Python backend
// requires: none or two are refused with INVALID_ARGUMENT.
func audioInput(inputs []Tensor) (Tensor, error) {
	var found []Tensor
	for _, t := range inputs {
		switch t.Name {
		case models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC:
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return Tensor{}, status.Errorf(codes.InvalidArgument, "input '%s' is missing: send exactly one of %s (FP32), %s (INT16) or %s (BYTES, one FLAC stream per row)",
			models.InputAudio, models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, t := range found {
		names[i] = t.Name
	}
	return Tensor{}, status.Errorf(codes.InvalidArgument, "the request carries %d audio inputs (%s): send exactly one", len(found), strings.Join(names, ", "))
}

// decodeClips turns the audio input's rows into float32 clips: FP32 as
// sent, INT16 as s/32768 (exact), FLAC decoded to INT16 and then the same.
// With skip, only the FLAC streams' framing is not checked.
func decodeClips(audio Tensor, skip bool) ([][]float32, error) {
	batch := int(audio.Shape[0])
	clips := make([][]float32, batch)
	if skip {
		return clips, nil
	}
	bad := func(format string, args ...any) error {
		return status.Errorf(codes.InvalidArgument, format, args...)
	}
	switch audio.Name {
	case models.InputAudio:
		n := int(audio.Shape[1])
		for b := range batch {
			clip, err := triton.DecodeFP32(audio.Data[b*n*4 : (b+1)*n*4])
			if err != nil {
				return nil, bad("%v", err)
			}
			clips[b] = clip
		}
	case models.InputAudioPCM16:
		if audio.Datatype != models.DatatypeINT16 || len(audio.Shape) != 2 {
			return nil, bad("input '%s' must be INT16 [batch, samples]", audio.Name)
		}
		n := int(audio.Shape[1])
		for b := range batch {
			clips[b] = PCM16ToFloat(audio.Data[b*n*2 : (b+1)*n*2])
		}
	case models.InputAudioFLAC:
		if audio.Datatype != models.DatatypeBytes || len(audio.Shape) != 2 || audio.Shape[1] != 1 {
			return nil, bad("input '%s' must be BYTES [batch, 1], one FLAC stream per row", audio.Name)
		}
		streams, err := triton.DecodeBytes(audio.Data)
		if err != nil || len(streams) != batch {
			return nil, bad("input '%s': %d FLAC streams for %d rows (%v)", audio.Name, len(streams), batch, err)
		}
		for b, s := range streams {
			pcm, err := DecodeFLAC16(s)
			if err != nil {
				return nil, bad("input '%s' row %d is not a FLAC stream this model can read: %v", audio.Name, b, err)
			}
			if len(pcm) == 0 {
				return nil, bad("input '%s' row %d is empty", audio.Name, b)
			}
			clips[b] = make([]float32, len(pcm))
			for i, v := range pcm {
				clips[b][i] = float32(v) / 32768
			}
		}
	}
	return clips, nil
}

// PCM16ToFloat turns little-endian INT16 samples into float32 s/32768, as
// the Python backend does: exact for every int16.
func PCM16ToFloat(data []byte) []float32 {
	out := make([]float32, len(data)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 32768
	}
	return out
}

// DecodeFLAC16 decodes one FLAC stream of 16 kHz mono 16-bit audio (what
// AUDIO_FLAC carries) with github.com/mewkiz/flac, independently of the
// client's encoder; any other rate, channel count or sample size is an
// error.
func DecodeFLAC16(data []byte) ([]int16, error) {
	st, err := flac.New(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if st.Info.SampleRate != models.SampleRate || st.Info.NChannels != 1 || st.Info.BitsPerSample != 16 {
		return nil, fmt.Errorf("want %d Hz mono 16-bit FLAC, got %d Hz, %d channel(s), %d bits", models.SampleRate, st.Info.SampleRate, st.Info.NChannels, st.Info.BitsPerSample)
	}
	out := make([]int16, 0, st.Info.NSamples)
	for {
		f, err := st.ParseNext()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, v := range f.Subframes[0].Samples {
			out = append(out, int16(v))
		}
	}
	if st.Info.NSamples != 0 && uint64(len(out)) != st.Info.NSamples {
		return nil, fmt.Errorf("STREAMINFO says %d samples, the frames hold %d", st.Info.NSamples, len(out))
	}
	return out, nil
}
