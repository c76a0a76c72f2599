// Package transcribe runs one file through the whole path: stage, decode,
// chunk, infer, stitch, export. Steps it does not own come in through the
// small interfaces it declares, so tests can swap any of them.
package transcribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// DefaultConcurrency is how many chunks are in flight to the server at once
// when a request does not say.
const DefaultConcurrency = 8

// chunkSeconds is the longest chunk sent to the model.
const chunkSeconds = 30

// Recognizer hears one chunk; *inference.Model is the production one.
type Recognizer interface {
	Recognize(ctx context.Context, id int, samples []float32, opts inference.Options) (transcript.ChunkResult, error)
}

// Engine transcribes files. It keeps one connection per server and one
// checked model per (server, model), and is safe for concurrent use.
type Engine struct {
	mu      sync.Mutex
	servers map[string]*inference.Server
	models  map[[2]string]Recognizer

	// ModelWait bounds the wait for a model that is still loading.
	ModelWait time.Duration
}

// NewEngine returns an engine with the production adapters.
func NewEngine() *Engine {
	return &Engine{servers: map[string]*inference.Server{}, models: map[[2]string]Recognizer{}, ModelWait: 60 * time.Second}
}

// Close ends every server connection.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for addr, s := range e.servers {
		errs = append(errs, s.Close())
		delete(e.servers, addr)
	}
	clear(e.models)
	return errors.Join(errs...)
}

func (e *Engine) server(addr string) (*inference.Server, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.servers[addr]; ok {
		return s, nil
	}
	s, err := inference.Connect(addr)
	if err != nil {
		return nil, err
	}
	e.servers[addr] = s
	return s, nil
}

// ServerStatus asks a server what it is and which models it hosts.
func (e *Engine) ServerStatus(ctx context.Context, addr string) (inference.ServerStatus, error) {
	s, err := e.server(addr)
	if err != nil {
		return inference.ServerStatus{}, err
	}
	return s.Status(ctx)
}

// OpenModel checks that a server hosts a model fit for the contract,
// waiting while it loads (onWait is told), and remembers it for Transcribe.
func (e *Engine) OpenModel(ctx context.Context, addr, model string, onWait func(elapsed time.Duration, state string)) error {
	_, err := e.model(ctx, addr, model, onWait)
	return err
}

func (e *Engine) model(ctx context.Context, addr, name string, onWait func(time.Duration, string)) (Recognizer, error) {
	key := [2]string{addr, name}
	e.mu.Lock()
	m, ok := e.models[key]
	e.mu.Unlock()
	if ok {
		return m, nil
	}
	s, err := e.server(addr)
	if err != nil {
		return nil, err
	}
	opened, err := s.OpenModel(ctx, name, inference.WaitOptions{Timeout: e.ModelWait, OnWait: onWait})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.models[key] = opened
	e.mu.Unlock()
	return opened, nil
}

// Transcribe runs one request to the end, reporting progress as it goes.
// The user's file is only ever read, through its staged copy; outputs are
// written only when the whole file succeeded.
func (e *Engine) Transcribe(ctx context.Context, req Request, progress func(Progress)) (Result, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	report := func(p Progress) { p.Path = req.Path; progress(p) }
	res, err := e.run(ctx, req, report)
	if err != nil {
		report(Progress{Stage: StageFailed})
		return Result{}, fmt.Errorf("%s: %w", filepath.Base(req.Path), err)
	}
	report(Progress{Stage: StageDone, Fraction: 1, ChunksDone: res.chunks, ChunksTotal: res.chunks})
	return res.Result, nil
}

type runResult struct {
	Result
	chunks int
}

func (e *Engine) run(ctx context.Context, req Request, report func(Progress)) (runResult, error) {
	var formats []string
	if req.OutDir != "" {
		var err error
		if formats, err = export.ParseFormats(strings.Join(req.Formats, ",")); err != nil {
			return runResult{}, apperr.New(apperr.CodeBadInput, err, "%v", err)
		}
	}
	model, err := e.model(ctx, req.Server, req.Model, nil)
	if err != nil {
		return runResult{}, err
	}

	report(Progress{Stage: StageStaging})
	staged, err := staging.Stage(ctx, req.Path, req.CacheDir, staging.Options{
		Progress: func(done, total int64) {
			if total > 0 {
				report(Progress{Stage: StageStaging, Fraction: 0.05 * float64(done) / float64(total)})
			}
		},
	})
	if err != nil {
		return runResult{}, err
	}

	report(Progress{Stage: StageDecoding, Fraction: 0.05})
	dec, err := audio.Open(staged.Path, audio.Options{})
	if err != nil {
		return runResult{}, audioError(err)
	}
	defer dec.Close()
	info := dec.Info()
	estimate := int(math.Ceil(info.Duration / chunkSeconds))

	pieces, samples, err := recognizeAll(ctx, model, dec, req, func(done, known int, finished bool) {
		total := max(estimate, known)
		if finished {
			total = known
		}
		frac := 0.05
		if total > 0 {
			frac += 0.9 * float64(done) / float64(total)
		}
		report(Progress{Stage: StageTranscribing, ChunksDone: done, ChunksTotal: total, Fraction: frac})
	})
	if err != nil {
		return runResult{}, err
	}

	abs, err := filepath.Abs(req.Path)
	if err != nil {
		abs = req.Path
	}
	segs := transcript.Stitch(pieces)
	t := transcript.Transcript{
		Source: abs, SHA256: staged.SHA256, Duration: float64(samples) / audio.SampleRate,
		Model: req.Model, Text: transcript.FullText(segs), Segments: segs,
	}
	res := runResult{Result: Result{Transcript: t, Outputs: []string{}}, chunks: len(pieces)}
	if len(formats) == 0 {
		return res, nil
	}

	report(Progress{Stage: StageExporting, Fraction: 0.95, ChunksDone: len(pieces), ChunksTotal: len(pieces)})
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return runResult{}, apperr.New(apperr.CodeFile, err, "cannot create output folder %s: %v", req.OutDir, err)
	}
	stem := strings.TrimSuffix(filepath.Base(req.Path), filepath.Ext(req.Path))
	for _, f := range formats {
		data, err := export.Render(t, f)
		if err != nil {
			return runResult{}, err
		}
		out := filepath.Join(req.OutDir, stem+"."+f)
		if err := staging.WriteFileAtomic(ctx, out, data, 0o644, staging.Options{}); err != nil {
			return runResult{}, err
		}
		res.Outputs = append(res.Outputs, out)
	}
	return res, nil
}

// recognizeAll chunks the stream and keeps up to req.Concurrency chunks in
// flight while decoding goes on. It returns the pieces in chunk order and
// the number of samples decoded. The first failure cancels the rest.
func recognizeAll(ctx context.Context, model Recognizer, src audio.Stream, req Request,
	progress func(done, known int, finished bool)) ([]transcript.Piece, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conc := req.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	opts := inference.Options{Timestamps: req.Timestamps}
	chunker := audio.NewChunker(src, audio.ChunkOptions{MaxSeconds: chunkSeconds})

	var (
		mu      sync.Mutex
		pieces  []transcript.Piece
		done    int
		wg      sync.WaitGroup
		slots   = make(chan struct{}, conc)
		samples int64
	)
	finish := func(i int, r transcript.ChunkResult) {
		mu.Lock()
		pieces[i].Result = r
		done++
		d, k := done, len(pieces)
		mu.Unlock()
		progress(d, k, false)
	}
	for ctx.Err() == nil {
		c, err := chunker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cancel(audioError(err))
			break
		}
		samples = c.Offset + int64(len(c.Samples))
		mu.Lock()
		pieces = append(pieces, transcript.Piece{
			Offset:   float64(c.Offset) / audio.SampleRate,
			Duration: float64(len(c.Samples)) / audio.SampleRate,
		})
		i := len(pieces) - 1
		mu.Unlock()
		if c.Silent { // nothing to hear: done without asking the server
			finish(i, transcript.ChunkResult{})
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		wg.Add(1)
		go func(i int, c audio.Chunk) {
			defer wg.Done()
			defer func() { <-slots }()
			r, err := model.Recognize(ctx, c.Index, c.Samples, opts)
			if err != nil {
				cancel(fmt.Errorf("chunk %d at %s: %w", c.Index+1, clock(float64(c.Offset)/audio.SampleRate), err))
				return
			}
			finish(i, r)
		}(i, c)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	if len(pieces) == 0 {
		return nil, 0, apperr.New(apperr.CodeBadInput, nil, "the file holds no audio samples")
	}
	progress(len(pieces), len(pieces), true)
	return pieces, samples, nil
}

func clock(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(100 * time.Millisecond)
	return fmt.Sprintf("%d:%02d:%04.1f", int(d.Hours()), int(d.Minutes())%60, math.Mod(d.Seconds(), 60))
}

// audioError says what is wrong with a file the decoder refused, in terms of
// the user's file: the staged copy's path means nothing to the user.
func audioError(err error) error {
	detail := err
	if inner := errors.Unwrap(err); inner != nil {
		detail = inner // drop "audio: <cache path>: "
	}
	switch {
	case errors.Is(err, audio.ErrEmpty):
		return apperr.New(apperr.CodeBadInput, err, "the file is empty: there is nothing to transcribe")
	case errors.Is(err, audio.ErrUnsupportedFormat):
		return apperr.New(apperr.CodeBadInput, err, "not an audio file this build can read: %v", detail)
	case errors.Is(err, audio.ErrCorrupt):
		return apperr.New(apperr.CodeBadInput, err, "the audio file is damaged: %v", detail)
	}
	return apperr.New(apperr.CodeBadInput, err, "cannot read the audio: %v", detail)
}
