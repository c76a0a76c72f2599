package inference

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// SpeakerModel is a speaker-embedding model that fits the speaker section
// of the model contract: it turns spans of a chunk into one embedding
// each, for diarization on the client.
type SpeakerModel struct {
	server  *Server
	Name    string
	Version string
	Params  models.SpeakerParameters
	batched bool
}

// FindSpeakerModel names the server's speaker-embedding model (a ready
// model whose config says kind speaker_embedding; the first by name when
// there are several), or fails saying diarization needs one.
func (s *Server) FindSpeakerModel(ctx context.Context) (string, error) {
	index, err := s.client.RepositoryIndex(ctx, true)
	if err != nil {
		return "", s.explain(err, "")
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Name < index[j].Name })
	for i, m := range index {
		if i > 0 && index[i-1].Name == m.Name {
			continue
		}
		cfg, err := s.client.ModelConfig(ctx, m.Name, "")
		if err != nil {
			continue // unloaded since the index was read
		}
		if configParams(cfg)[models.ParamKind] == models.KindSpeakerEmbedding {
			return m.Name, nil
		}
	}
	return "", apperr.New(apperr.CodeUnknownModel, nil, "server %s has no speaker-embedding model ready (a model whose config says kind %s, such as titanet-large): telling speakers apart needs one", s.addr, models.KindSpeakerEmbedding)
}

// OpenSpeakerModel checks that the server hosts name as a speaker-embedding
// model fit for the contract, waiting while it loads as OpenModel does.
func (s *Server) OpenSpeakerModel(ctx context.Context, name string, wait WaitOptions) (*SpeakerModel, error) {
	if err := s.waitReady(ctx, name, wait); err != nil {
		return nil, err
	}
	md, err := s.client.ModelMetadata(ctx, name, "")
	if err != nil {
		return nil, s.explain(err, name)
	}
	cfg, err := s.client.ModelConfig(ctx, name, "")
	if err != nil {
		return nil, s.explain(err, name)
	}
	mismatch := func(format string, args ...any) error {
		return apperr.New(apperr.CodeContract, nil, "model %q on %s is not a speaker-embedding model NeMo Transcribe can use: %s", name, s.addr, fmt.Sprintf(format, args...))
	}
	params := configParams(cfg)
	if !models.IsSpeakerModel(params) {
		return nil, mismatch("its config does not say %s: %s", models.ParamKind, models.KindSpeakerEmbedding)
	}
	sp, err := models.ParseSpeakerParameters(params)
	if err != nil {
		return nil, mismatch("%v", err)
	}
	switch {
	case !hasTensor(md.Inputs, models.InputAudio, models.DatatypeFP32):
		return nil, mismatch("no %s input %s", models.DatatypeFP32, models.InputAudio)
	case !hasTensor(md.Inputs, models.InputSpans, models.DatatypeINT64):
		return nil, mismatch("no %s input %s", models.DatatypeINT64, models.InputSpans)
	case !hasTensor(md.Outputs, models.OutputEmbeddings, models.DatatypeFP32):
		return nil, mismatch("no %s output %s", models.DatatypeFP32, models.OutputEmbeddings)
	}
	m := &SpeakerModel{server: s, Name: name, Params: sp, batched: cfg.GetMaxBatchSize() > 0}
	if n := len(md.Versions); n > 0 {
		m.Version = md.Versions[n-1]
	}
	return m, nil
}

// configParams is a config's parameters as key -> string value.
func configParams(cfg *pb.ModelConfig) map[string]string {
	out := make(map[string]string, len(cfg.GetParameters()))
	for k, v := range cfg.GetParameters() {
		out[k] = v.GetStringValue()
	}
	return out
}

// Embed returns one embedding per span of the chunk (spans are [start,
// end) sample offsets into samples, 16 kHz mono), in order; a span the
// model cannot embed (shorter than Params.MinSpanSeconds, no voice) comes
// back as a zero vector. More spans than the model takes at once go in
// several requests. Retries and cancellation are as in Recognize.
func (m *SpeakerModel) Embed(ctx context.Context, id int, samples []float32, spans [][2]int64, opts Options) ([][]float32, error) {
	for _, sp := range spans {
		if sp[0] < 0 || sp[1] <= sp[0] || sp[1] > int64(len(samples)) {
			return nil, apperr.New(apperr.CodeInternal, nil, "span [%d, %d) is not within chunk %d of %d samples", sp[0], sp[1], id+1, len(samples))
		}
	}
	per := m.Params.MaxSpans
	if per <= 0 {
		per = len(spans)
	}
	out := make([][]float32, 0, len(spans))
	for len(spans) > 0 {
		n := min(per, len(spans))
		embs, err := m.embed(ctx, id, samples, spans[:n], opts)
		if err != nil {
			return nil, err
		}
		out = append(out, embs...)
		spans = spans[n:]
	}
	return out, nil
}

func (m *SpeakerModel) embed(ctx context.Context, id int, samples []float32, spans [][2]int64, opts Options) ([][]float32, error) {
	audioShape := []int64{int64(len(samples))}
	spanShape := []int64{int64(len(spans)), 2}
	if m.batched {
		audioShape = append([]int64{1}, audioShape...)
		spanShape = append([]int64{1}, spanShape...)
	}
	raw := make([]byte, 0, 16*len(spans))
	for _, sp := range spans {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(sp[0]))
		raw = binary.LittleEndian.AppendUint64(raw, uint64(sp[1]))
	}
	req := triton.InferRequest{
		Model: m.Name,
		ID:    "spk-" + strconv.Itoa(id),
		Inputs: []triton.Input{
			{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: audioShape, Raw: triton.FP32Bytes(samples)},
			{Name: models.InputSpans, Datatype: models.DatatypeINT64, Shape: spanShape, Raw: raw},
		},
		Outputs: []string{models.OutputEmbeddings},
	}
	if p := opts.params(m.server.cfg.Priority)["priority"]; p != nil {
		req.Params = map[string]any{"priority": p}
	}
	audio := time.Duration(float64(len(samples)) / models.SampleRate * float64(time.Second))
	res, err := m.server.inferWithRetry(ctx, req, audio, id, m.Name, opts)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return apperr.New(apperr.CodeContract, nil, "model %q returned %s: %s", m.Name, models.OutputEmbeddings, fmt.Sprintf(format, args...))
	}
	o, ok := res.Outputs[models.OutputEmbeddings]
	if !ok || o.Datatype != models.DatatypeFP32 {
		return nil, bad("missing or not %s", models.DatatypeFP32)
	}
	shape := o.Shape
	if m.batched && len(shape) == 3 && shape[0] == 1 {
		shape = shape[1:]
	}
	if len(shape) != 2 || shape[0] != int64(len(spans)) || shape[1] <= 0 {
		return nil, bad("shape %v for %d spans", o.Shape, len(spans))
	}
	flat, err := triton.DecodeFP32(o.Raw)
	if err != nil || int64(len(flat)) != shape[0]*shape[1] {
		return nil, bad("%d values for shape %v", len(flat), o.Shape)
	}
	d := int(shape[1])
	out := make([][]float32, len(spans))
	for i := range out {
		row := flat[i*d : (i+1)*d : (i+1)*d]
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, bad("a value that is not finite in row %d", i)
			}
		}
		out[i] = row
	}
	return out, nil
}
