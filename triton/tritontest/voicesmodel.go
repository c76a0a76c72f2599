package tritontest

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

const (
	// VoicesModelName is the name of the speaker-embedding test model.
	VoicesModelName = "voices"
	// VoicesMaxBatchSize is its max_batch_size: chunks per request.
	VoicesMaxBatchSize = 8
	// VoicesMaxSpans is its max_spans: spans per chunk.
	VoicesMaxSpans = 256
)

// Voices returns the voices test model, the speaker-embedding model of
// the test recordings. It follows the speaker section of the model
// contract (models/contract.json): AUDIO FP32 [-1] and SPANS INT64 [-1, 2]
// per chunk, batched; EMBEDDINGS FP32 [-1, -1] with one row of
// voices.EmbeddingSize values per span, L2-normalised (see voices.Embed).
// A span shorter than voices.MinSpan, or one without a voice in it, gets a
// zero row. Spans outside the chunk, empty or reversed, or more than
// VoicesMaxSpans of them, are refused INVALID_ARGUMENT, as the Python
// backend of titanet-large refuses them with pb_utils.TritonError
// INVALID_ARG. Its config says kind speaker_embedding, embedding_size,
// min_span_seconds and max_spans, as a real speaker model's config.pbtxt.
func Voices() Model { return VoicesWith(VoicesOptions{}) }

// VoicesOptions vary the voices model.
type VoicesOptions struct {
	// Name replaces "voices".
	Name string
	// Instances replaces the one CPU instance.
	Instances []*pb.ModelInstanceGroup
}

// VoicesWith returns the voices model with options.
func VoicesWith(opts VoicesOptions) Model {
	c := models.Contract().Speaker
	name := cmp.Or(opts.Name, VoicesModelName)
	cfg := &pb.ModelConfig{
		Name:         name,
		Backend:      "tritontest",
		MaxBatchSize: int32(max(VoicesMaxBatchSize, c.MaxBatchSizeMin)),
		InstanceGroup: []*pb.ModelInstanceGroup{
			{Name: name, Count: 1, Kind: pb.ModelInstanceGroup_KIND_CPU},
		},
		Parameters: map[string]*pb.ModelParameter{
			models.ParamKind:           {StringValue: models.KindSpeakerEmbedding},
			models.ParamEmbeddingSize:  {StringValue: strconv.Itoa(voices.EmbeddingSize)},
			models.ParamMinSpanSeconds: {StringValue: strconv.FormatFloat(voices.MinSpan, 'g', -1, 64)},
			models.ParamMaxSpans:       {StringValue: strconv.Itoa(VoicesMaxSpans)},
			"sample_rate":              {StringValue: fmt.Sprint(c.SampleRate)},
		},
	}
	for _, in := range c.Inputs {
		cfg.Input = append(cfg.Input, &pb.ModelInput{Name: in.Name, DataType: DataTypeOf(in.Datatype), Dims: in.Dims, AllowRaggedBatch: true})
	}
	for _, out := range c.Outputs {
		cfg.Output = append(cfg.Output, &pb.ModelOutput{Name: out.Name, DataType: DataTypeOf(out.Datatype), Dims: out.Dims})
	}
	if opts.Instances != nil {
		cfg.InstanceGroup = opts.Instances
	}
	minSamples := models.SpeakerParameters{MinSpanSeconds: voices.MinSpan}.MinSpanSamples(c.SampleRate)
	return &voicesModel{cfg: cfg, sampleRate: c.SampleRate, minSamples: minSamples}
}

type voicesModel struct {
	cfg        *pb.ModelConfig
	sampleRate int
	minSamples int64
}

func (m *voicesModel) Config() *pb.ModelConfig { return proto.Clone(m.cfg).(*pb.ModelConfig) }

func (m *voicesModel) Execute(ctx context.Context, inputs []Tensor, _ map[string]*pb.InferParameter) ([]Tensor, error) {
	// The server checked names, datatypes, shapes [batch, N] and
	// [batch, S, 2], equal batch sizes and byte sizes.
	audio, spans := inputs[0], inputs[1]
	batch, n := audio.Shape[0], audio.Shape[1]
	s := spans.Shape[1]
	if s > VoicesMaxSpans {
		return nil, status.Errorf(codes.InvalidArgument, "%d spans in one chunk; model %s takes at most %d", s, m.cfg.GetName(), VoicesMaxSpans)
	}
	d := int64(voices.EmbeddingSize)
	out := make([]float32, batch*s*d)
	for b := range batch {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		clip, err := triton.DecodeFP32(audio.Data[b*n*4 : (b+1)*n*4])
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		for k := range s {
			at := (b*s + k) * 16
			start := int64(binary.LittleEndian.Uint64(spans.Data[at:]))
			end := int64(binary.LittleEndian.Uint64(spans.Data[at+8:]))
			// The titanet-large backend's messages (read_spans).
			switch {
			case start < 0 || end > n:
				return nil, status.Errorf(codes.InvalidArgument, "span %d [%d, %d) of chunk %d is outside the chunk's %d samples", k, start, end, b, n)
			case end <= start:
				return nil, status.Errorf(codes.InvalidArgument, "span %d [%d, %d) of chunk %d is empty: end must be after start", k, start, end, b)
			case end-start < m.minSamples:
				continue // a zero row
			}
			copy(out[(b*s+k)*d:], voices.Embed(clip[start:end], m.sampleRate))
		}
	}
	return []Tensor{{
		Name: models.OutputEmbeddings, Datatype: models.DatatypeFP32,
		Shape: []int64{batch, s, d}, Data: triton.EncodeFP32(out),
	}}, nil
}
