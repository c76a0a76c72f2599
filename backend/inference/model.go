package inference

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Model is a model that fits the contract, ready for chunks.
type Model struct {
	server  *Server
	Name    string
	Version string // newest version the server reported; "" if none
	// batched: the model has max_batch_size > 0, so a request carries
	// shape [1, N]; otherwise [N].
	batched      bool
	hasTimestamp bool

	// What the model's config says about how it runs, for sizing the
	// requests in flight (see SuggestedInFlight).
	MaxBatchSize    int  // 0: the model does not batch
	DynamicBatching bool // the server gathers requests into batches
	Instances       int  // model instances executing at once (at least 1)

	// AudioInput is the input Recognize sends the audio as: the most
	// compact form the model declares (models.InputAudioFLAC, then
	// models.InputAudioPCM16), else models.InputAudio (FP32).
	AudioInput string
	// Warnings name compact inputs the model declares wrongly (another
	// datatype or shape than the contract's), which are never sent.
	Warnings []string
}

// SuggestedInFlight is how many requests keep this model busy without
// flooding the server: with a dynamic batcher, two full batches per
// instance (one executing, one gathering); otherwise two per instance. It
// is a starting point for a Limiter's Max, at least 2 and at most 64.
func (m *Model) SuggestedInFlight() int {
	n := 2 * m.Instances
	if m.DynamicBatching && m.MaxBatchSize > 0 {
		n = 2 * m.MaxBatchSize * m.Instances
	}
	return min(max(n, 2), 64)
}

// instances is how many instances of a model execute at once, from the
// config the server returns: each instance group has count instances on
// every GPU it lists (Triton fills in the GPUs for KIND_GPU, see
// model_config_utils.cc), and count of them otherwise. At least 1.
func instances(cfg *pb.ModelConfig) int {
	n := 0
	for _, g := range cfg.GetInstanceGroup() {
		per := int(max(g.GetCount(), 1))
		if g.GetKind() == pb.ModelInstanceGroup_KIND_GPU && len(g.GetGpus()) > 0 {
			per *= len(g.GetGpus())
		}
		n += per
	}
	return max(n, 1)
}

// describe reads a model's metadata and config and checks them against the
// model contract, so that a model we cannot use fails before any audio is
// sent.
func (s *Server) describe(ctx context.Context, name string) (*Model, error) {
	md, err := s.client.ModelMetadata(ctx, name, "")
	if err != nil {
		return nil, s.explain(err, name)
	}
	cfg, err := s.client.ModelConfig(ctx, name, "")
	if err != nil {
		return nil, s.explain(err, name)
	}
	m := &Model{server: s, Name: name, batched: cfg.GetMaxBatchSize() > 0,
		MaxBatchSize: int(max(cfg.GetMaxBatchSize(), 0)), DynamicBatching: cfg.GetDynamicBatching() != nil}
	m.Instances = instances(cfg)
	if n := len(md.Versions); n > 0 {
		m.Version = md.Versions[n-1]
	}
	mismatch := func(format string, args ...any) error {
		return apperr.New(apperr.CodeContract, nil, "model %q on %s does not fit NeMo Transcribe's model contract: %s", name, s.addr, fmt.Sprintf(format, args...))
	}
	if cfg.GetParameters()[models.ParamKind].GetStringValue() == models.KindSpeakerEmbedding {
		return nil, mismatch("it is a speaker-embedding model (it tells voices apart), not a speech-recognition model: choose another model")
	}
	if cfg.GetModelTransactionPolicy().GetDecoupled() {
		return nil, mismatch("it is decoupled (streaming-only), which this version does not support")
	}
	if !hasTensor(md.Inputs, models.InputAudio, models.DatatypeFP32) {
		return nil, mismatch("no %s input %s", models.DatatypeFP32, models.InputAudio)
	}
	if !hasTensor(md.Outputs, models.OutputTranscript, models.DatatypeBytes) {
		return nil, mismatch("no %s output %s", models.DatatypeBytes, models.OutputTranscript)
	}
	m.hasTimestamp = hasTensor(md.Outputs, models.OutputTimestamps, models.DatatypeBytes)
	var warnings []apperr.Text
	m.AudioInput, warnings = s.audioInput(ctx, name, md, cfg)
	m.Warnings = english(warnings)
	for _, w := range m.Warnings {
		s.warn(w)
	}
	return m, nil
}

// audioInput chooses the form of the audio for model name. With replicas,
// requests go round-robin to every one of them, so it asks each on its own
// connection (md and cfg may come from different replicas) and takes the
// least compact form any of them needs; a replica that does not answer
// now is left out, and when none does, md and cfg decide.
func (s *Server) audioInput(ctx context.Context, name string, md triton.ModelMetadata, cfg *pb.ModelConfig) (string, []apperr.Text) {
	var form string
	var warnings []apperr.Text
	for _, r := range s.replicas {
		rmd, err := r.ModelMetadata(ctx, name, "")
		if err != nil {
			continue
		}
		rcfg, err := r.ModelConfig(ctx, name, "")
		if err != nil {
			continue
		}
		f, ws := chooseAudioInput(rmd.Inputs, rcfg, s.cfg.AudioInput)
		if form == "" || slices.Index(audioPreference, f) > slices.Index(audioPreference, form) {
			form = f
		}
		for _, w := range ws {
			if !slices.ContainsFunc(warnings, func(o apperr.Text) bool { return o.Text == w.Text }) {
				warnings = append(warnings, w)
			}
		}
	}
	if form == "" {
		return chooseAudioInput(md.Inputs, cfg, s.cfg.AudioInput)
	}
	return form, warnings
}

func hasTensor(ts []triton.TensorMetadata, name, datatype string) bool {
	for _, t := range ts {
		if t.Name == name && t.Datatype == datatype {
			return true
		}
	}
	return false
}

// Options are the contract's request parameters and how one request is
// sent.
type Options struct {
	Timestamps bool
	SourceLang string // "" = not sent
	TargetLang string
	Task       string // "asr" or "ast"; "" = not sent
	PNC        *bool  // nil = not sent

	// Priority overrides Config.Priority for this request when > 0.
	Priority int
	// OnRetry, when set, hears about every failed attempt that will be
	// retried, before the wait. It must not block for long.
	OnRetry func(RetryEvent)
	// Limiter, when set, bounds the attempts in flight: Recognize takes a
	// slot for each attempt and gives it back with how it went.
	Limiter *Limiter
}

func (o Options) params(priority int) map[string]any {
	p := map[string]any{models.ParamTimestamps: o.Timestamps}
	if o.SourceLang != "" {
		p[models.ParamSourceLang] = o.SourceLang
	}
	if o.TargetLang != "" {
		p[models.ParamTargetLang] = o.TargetLang
	}
	if o.Task != "" {
		p[models.ParamTask] = o.Task
	}
	if o.PNC != nil {
		p[models.ParamPNC] = *o.PNC
	}
	if o.Priority > 0 {
		priority = o.Priority
	}
	if priority > 0 {
		// A reserved key: Triton takes it as int64 (>= 0) or uint64.
		p["priority"] = int64(priority)
	}
	return p
}

// Recognize sends one chunk of 16 kHz mono samples and returns what the
// model heard, times relative to the chunk. Transient failures are retried
// as Config.Retry allows; cancelling ctx cancels the call in flight and
// stops retrying at once. samples go as the model's AudioInput: FP32 as
// they are, without a copy (leave them unchanged until Recognize returns);
// AUDIO_PCM16 and AUDIO_FLAC as 16-bit samples (ToPCM16), which is
// lossless for a 16-bit source.
func (m *Model) Recognize(ctx context.Context, id int, samples []float32, opts Options) (transcript.ChunkResult, error) {
	outputs := []string{models.OutputTranscript}
	if m.hasTimestamp {
		outputs = append(outputs, models.OutputTimestamps)
	}
	req := triton.InferRequest{
		Model:   m.Name,
		ID:      strconv.Itoa(id),
		Inputs:  []triton.Input{audioTensor(m.AudioInput, samples, m.batched)},
		Outputs: outputs,
		Params:  opts.params(m.server.cfg.Priority),
	}
	audio := time.Duration(float64(len(samples)) / models.SampleRate * float64(time.Second))
	res, err := m.server.inferWithRetry(ctx, req, audio, id, m.Name, opts)
	if err != nil {
		return transcript.ChunkResult{}, err
	}
	text, err := res.Bytes(models.OutputTranscript)
	if err != nil || len(text) != 1 {
		return transcript.ChunkResult{}, apperr.New(apperr.CodeContract, err, "model %q returned a %s output that is not one text element", m.Name, models.OutputTranscript)
	}
	var ts []byte
	if m.hasTimestamp && opts.Timestamps {
		elems, err := res.Bytes(models.OutputTimestamps)
		if err != nil || len(elems) != 1 {
			return transcript.ChunkResult{}, apperr.New(apperr.CodeContract, err, "model %q returned a %s output that is not one JSON element", m.Name, models.OutputTimestamps)
		}
		ts = elems[0]
	}
	r, err := transcript.ParseChunk(string(text[0]), ts)
	if err != nil {
		return transcript.ChunkResult{}, apperr.New(apperr.CodeContract, err, "model %q: %v", m.Name, err)
	}
	return r, nil
}
