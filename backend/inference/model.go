package inference

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/avast/retry-go/v4"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
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
	m := &Model{server: s, Name: name, batched: cfg.GetMaxBatchSize() > 0}
	if n := len(md.Versions); n > 0 {
		m.Version = md.Versions[n-1]
	}
	mismatch := func(format string, args ...any) error {
		return apperr.New(apperr.CodeContract, nil, "model %q on %s does not fit NeMo Transcribe's model contract: %s", name, s.addr, fmt.Sprintf(format, args...))
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
	return m, nil
}

func hasTensor(ts []triton.TensorMetadata, name, datatype string) bool {
	for _, t := range ts {
		if t.Name == name && t.Datatype == datatype {
			return true
		}
	}
	return false
}

// Options are the contract's request parameters.
type Options struct {
	Timestamps bool
	SourceLang string // "" = not sent
	TargetLang string
	Task       string // "asr" or "ast"; "" = not sent
	PNC        *bool  // nil = not sent
}

func (o Options) params() map[string]any {
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
	return p
}

// Deadline for one chunk: a fixed allowance for queueing on a busy server
// plus time in proportion to the audio.
func chunkDeadline(samples int) time.Duration {
	audio := time.Duration(float64(samples) / models.SampleRate * float64(time.Second))
	return 10*time.Second + 2*audio
}

// Retry budget for transient failures of one chunk (server restarting,
// overloaded, model reloading).
var recognizeRetry = []retry.Option{
	retry.Attempts(8),
	retry.Delay(250 * time.Millisecond),
	retry.MaxDelay(3 * time.Second),
	retry.DelayType(retry.CombineDelay(retry.BackOffDelay, retry.RandomDelay)),
	retry.MaxJitter(250 * time.Millisecond),
	retry.LastErrorOnly(true),
}

// Recognize sends one chunk of 16 kHz mono samples and returns what the
// model heard, times relative to the chunk. Transient failures are retried.
func (m *Model) Recognize(ctx context.Context, id int, samples []float32, opts Options) (transcript.ChunkResult, error) {
	shape := []int64{int64(len(samples))}
	if m.batched {
		shape = []int64{1, int64(len(samples))}
	}
	outputs := []string{models.OutputTranscript}
	if m.hasTimestamp {
		outputs = append(outputs, models.OutputTimestamps)
	}
	req := triton.InferRequest{
		Model:   m.Name,
		ID:      strconv.Itoa(id),
		Inputs:  []triton.Input{{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: shape, Raw: triton.EncodeFP32(samples)}},
		Outputs: outputs,
		Params:  opts.params(),
	}
	var res *triton.InferResult
	err := retry.Do(func() error {
		callCtx, cancel := context.WithTimeout(ctx, chunkDeadline(len(samples)))
		defer cancel()
		var err error
		res, err = m.server.client.Infer(callCtx, req)
		var te *triton.Error
		if err != nil && (!errors.As(err, &te) || !te.Temporary() || ctx.Err() != nil) {
			return retry.Unrecoverable(err)
		}
		return err
	}, append(recognizeRetry, retry.Context(ctx))...)
	if err != nil {
		if ctx.Err() != nil {
			return transcript.ChunkResult{}, ctx.Err()
		}
		return transcript.ChunkResult{}, m.server.explain(err, m.Name)
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
