package transcribe

import (
	"context"
	"encoding/json"
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
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// saveTimeout bounds writing one finished chunk, which goes on even when
// the job is being cancelled: the server's answer is not thrown away.
const saveTimeout = 30 * time.Second

// job is one run of one request through the pipeline.
type job struct {
	e       *Engine
	req     Request
	rep     *reporter
	formats []string
	plan    string // set once the content hash and model are known
	model   *openModel
	// prio is the place in the pools' queues: older runs first.
	prio int64
	spk  *speakerJob // nil: no diarization
	// started gives back the job's place among those getting ready to
	// decode (Engine.starting); safe to call more than once.
	started func()
}

// run is the pipeline: model, staging, stored result, decode and chunk,
// infer, stitch, store, export.
func (e *Engine) run(ctx context.Context, req Request, rep *reporter) (Result, error) {
	j := &job{e: e, req: req, rep: rep, prio: e.order.Add(1)}
	if req.OutDir != "" {
		var err error
		if j.formats, err = export.ParseFormats(strings.Join(req.Formats, ",")); err != nil {
			return Result{}, apperr.New(apperr.CodeBadInput, err, "%v", err)
		}
	}
	if req.ChunkSeconds < 0 || req.ChunkSeconds > maxChunkSeconds || math.IsNaN(req.ChunkSeconds) {
		return Result{}, apperr.New(apperr.CodeBadInput, nil, "chunk length %g s is not between 1 and %d s", req.ChunkSeconds, maxChunkSeconds)
	}
	audioOpts, decodeKey, err := audioOptions(req)
	if err != nil {
		return Result{}, err
	}
	j.model, err = e.model(ctx, req.Server, req.Model, func(elapsed time.Duration, state string) {
		rep.note(apperr.Textf("waiting for model %q to load (%s, %s so far)", req.Model, state, elapsed.Round(time.Second)))
	})
	if err != nil {
		return Result{}, err
	}
	if req.Speakers != nil {
		if err := j.openSpeakers(ctx); err != nil {
			return Result{}, err
		}
		rep.diarizing()
	}

	rep.stage(StageStaging, 0)
	c, err := e.Cache(ctx, req.CacheDir)
	if err != nil {
		return Result{}, err
	}
	// Copies take turns, oldest job first, so the first file is ready to
	// decode soon instead of all files being copied at once.
	turns := e.staging
	if fi, err := os.Stat(req.Path); err == nil && fi.Size() <= smallStageBytes {
		turns = e.stagingSm
		// A small file's copy is part of getting ready (below); a large
		// one's is not, or it would hold a turn as long as it copies.
		if !j.startTurn(ctx) {
			return Result{}, ctx.Err()
		}
		defer j.started()
	}
	if !turns.acquire(ctx, j.prio) {
		return Result{}, ctx.Err()
	}
	lease, err := c.Stage(ctx, req.Path, staging.Options{Progress: rep.staging})
	turns.release()
	if err != nil {
		return Result{}, err
	}
	// The copy stays in the cache, whatever its cap, until decoding is
	// over or the job ends some other way.
	defer lease.Release()
	staged := lease.Staged

	if j.started == nil {
		if !j.startTurn(ctx) {
			return Result{}, ctx.Err()
		}
		defer j.started()
	}

	opts := requestOptions(req)
	if j.spk != nil {
		opts.Timestamps = true // every word gets a speaker
	}
	plan := newChunkPlan(e.chunkSeconds(req))
	j.plan = planKey(staged.SHA256, req.Server, j.model.name, j.model.version, opts, decodeKey, plan)
	// Server trouble shows as a note on the job while the chunk is retried,
	// and the pool's limiter paces every attempt.
	p := e.pool(req.Server)
	opts.Limiter = p.lim
	opts.OnRetry = func(ev inference.RetryEvent) {
		rep.note(apperr.Textf("retrying chunk %d (attempt %d of %d): %v", ev.Chunk+1, ev.Attempt+1, ev.Attempts, ev.Err))
	}
	if e.store != nil {
		done, err := e.claim(ctx, j.plan, func() {
			j.started() // waiting on another file's result is not preparing
			rep.note(apperr.Textf("the same audio is being transcribed for another file: waiting to reuse its result"))
		})
		if err != nil {
			return Result{}, err
		}
		defer done()
		if req.Force {
			if err := e.store.DropChunks(ctx, j.plan); err != nil {
				return Result{}, storeError(err)
			}
		} else if res, ok, err := j.reuse(ctx, staged, audioOpts, decodeKey, plan, p, opts); ok || err != nil {
			return res, err
		}
	}
	if j.spk != nil {
		if err := j.loadEmbeddings(ctx, staged.SHA256, decodeKey, plan); err != nil {
			return Result{}, err
		}
	}

	var stored map[int]store.Chunk
	if e.store != nil && !req.Force {
		if stored, err = e.store.Chunks(ctx, j.plan); err != nil {
			return Result{}, storeError(err)
		}
	}
	// The decoder starts once the server's pool has room for this file's
	// first chunk: a long queue does not start every decoder at once.
	if !p.ahead.acquire(ctx, j.prio) {
		return Result{}, ctx.Err()
	}
	rep.stage(StageDecoding, fracStaged)
	dec, err := audio.Open(staged.Path, audioOpts)
	// Opened is ready enough: short files that share one ffmpeg must
	// reach Open close together (audio's batchWindow), which turns held
	// until their first chunk would forbid.
	j.started()
	if err != nil {
		p.ahead.release()
		return Result{}, audioError(err)
	}
	defer dec.Close()
	rep.duration(dec.Info().Duration)
	unwatch := p.watch(j.model.Recognizer, j.model.name)
	pieces, samples, err := j.recognizeAll(ctx, p, dec, plan, opts, stored, nil)
	unwatch()
	if err != nil {
		return Result{}, err
	}
	var warnings []string
	var warningTexts []apperr.Text
	if w := dec.Warning(); w != nil {
		warnings = append(warnings, decodeWarning(w))
		warningTexts = append(warningTexts, decodeWarningText(w))
	}
	dec.Close() // before the release, so the copy can be evicted on Windows too
	lease.Release()

	segs := transcript.Stitch(pieces)
	t := transcript.Transcript{
		Source: absPath(req.Path), SHA256: staged.SHA256, Duration: float64(samples) / audio.SampleRate,
		Model: req.Model, Text: transcript.FullText(segs), Segments: segs,
	}
	if t.Segments == nil {
		t.Segments = []transcript.Segment{}
	}
	res := Result{Transcript: t, Outputs: []string{}, Warnings: warnings, WarningTexts: warningTexts}
	if j.spk != nil {
		j.rep.note(apperr.Textf("finding the speakers"))
		if r, err := j.spk.cluster(); err != nil {
			res.Diarization, res.DiarizationError = DiarizationFailed, diarizationFailed(err)
			res.Warnings = append(res.Warnings, res.DiarizationError)
			res.WarningTexts = append(res.WarningTexts, diarizationFailedText(err))
		} else {
			res.Transcript = diarize.Attribute(t, r)
			res.Diarization = DiarizationDone
		}
	}
	if e.store != nil {
		entry := store.Entry{Plan: j.plan, Source: t.Source, SHA256: staged.SHA256, Server: req.Server,
			Model: j.model.name, ModelVersion: j.model.version, Options: mustJSON(storedOptions(opts)), Duration: t.Duration,
			Audio: mustJSON(audioRecord{Decode: decodeKey, ChunkSeconds: plan.MaxSeconds})}
		if res.HistoryID, err = e.store.PutTranscript(context.WithoutCancel(ctx), entry, res.Transcript); err != nil {
			return Result{}, storeError(err)
		}
	}
	return j.export(ctx, res)
}

// startTurn waits for the job's turn to get ready to decode (staging a
// small file, the history, opening the decoder: Engine.starting) and sets
// j.started to give it back. Files take turns oldest first, as many at
// once as there are cores: when a queue of short files starts, the first
// ones reach the server close together and fill its first batch, instead
// of all preparing at once and all arriving late.
func (j *job) startTurn(ctx context.Context) bool {
	if !j.e.starting.acquire(ctx, j.prio) {
		return false
	}
	j.started = sync.OnceFunc(j.e.starting.release)
	return true
}

// reuse answers from the history when this exact request was transcribed
// before. Asked for speakers that the stored transcript lacks (or not as
// many), it diarizes it without sending its speech again.
func (j *job) reuse(ctx context.Context, staged staging.Staged, audioOpts audio.Options, dec decodeOptions, plan chunkPlan, p *pool, opts inference.Options) (Result, bool, error) {
	entry, t, ok, err := j.e.store.TranscriptFor(ctx, j.plan)
	if err != nil {
		return Result{}, false, storeError(err)
	}
	if !ok {
		return Result{}, false, nil
	}
	j.started() // nothing to decode, or the speakers only: long, and no start
	res := Result{Outputs: []string{}, HistoryID: entry.ID, Reused: true}
	if j.spk != nil && wantsDiarize(t, j.spk.opts) {
		j.rep.speakersOnly()
		if t, err = j.diarizeStored(ctx, entry.ID, t, staged, audioOpts, dec, plan, p, opts); err != nil {
			if j.spk.failed() {
				res.Diarization, res.DiarizationError = DiarizationFailed, diarizationFailed(err)
				res.Warnings = append(res.Warnings, res.DiarizationError)
				res.WarningTexts = append(res.WarningTexts, diarizationFailedText(err))
			} else {
				return Result{}, false, err
			}
		} else {
			res.Diarization, res.Reused = DiarizationDone, false
		}
	} else if j.spk != nil {
		res.Diarization = DiarizationDone
	}
	t.Source, t.SHA256, t.Model = absPath(j.req.Path), staged.SHA256, j.req.Model
	if t.Segments == nil {
		t.Segments = []transcript.Segment{}
	}
	if err := j.e.store.Touch(ctx, entry.ID, t.Source); err != nil {
		return Result{}, false, storeError(err)
	}
	j.rep.reused(t.Duration)
	res.Transcript = t
	res, err = j.export(ctx, res)
	return res, true, err
}

// diarizeStored finds the speakers of history entry id, whose transcript
// is t, from its audio at staged: the words' spans are embedded (stored
// embeddings reused), clustered across the file and attributed to the
// entry's transcript as stored then, so edits made meanwhile stay. It
// returns the transcript saved. A failure of the speaker model is
// recorded in j.spk (j.spk.failed()) as well as returned.
func (j *job) diarizeStored(ctx context.Context, id int64, t transcript.Transcript, staged staging.Staged, audioOpts audio.Options, dec decodeOptions, plan chunkPlan, p *pool, opts inference.Options) (transcript.Transcript, error) {
	if err := j.loadEmbeddings(ctx, staged.SHA256, dec, plan); err != nil {
		return t, err
	}
	if j.spk.failed() {
		return t, j.spk.err
	}
	if !p.ahead.acquire(ctx, j.prio) {
		return t, ctx.Err()
	}
	j.rep.stage(StageDecoding, fracStaged)
	d, err := audio.Open(staged.Path, audioOpts)
	if err != nil {
		p.ahead.release()
		return t, audioError(err)
	}
	defer d.Close()
	j.rep.duration(d.Info().Duration)
	_, _, err = j.recognizeAll(ctx, p, d, plan, opts, nil, func(c audio.Chunk) transcript.ChunkResult {
		return chunkOf(t, c.Offset, int64(len(c.Samples)))
	})
	if err != nil {
		return t, err
	}
	d.Close()
	j.rep.note(apperr.Textf("finding the speakers"))
	r, err := j.spk.cluster()
	if err != nil {
		j.spk.fail(err)
		return t, err
	}
	var out transcript.Transcript
	err = j.e.store.ChangeTranscript(context.WithoutCancel(ctx), id, func(cur transcript.Transcript) (transcript.Transcript, error) {
		out = keepNames(cur, diarize.Attribute(cur, r))
		return out, nil
	})
	if err != nil {
		return t, storeError(err)
	}
	return out, nil
}

func (j *job) export(ctx context.Context, res Result) (Result, error) {
	if len(j.formats) == 0 {
		return res, nil
	}
	j.rep.stage(StageExporting, fracTranscribed)
	outs, err := writeOutputs(ctx, res.Transcript, j.req, j.formats)
	if err != nil {
		return Result{}, err
	}
	res.Outputs = outs
	return res, nil
}

// recognizeAll cuts the stream into chunks and sends them through the
// server's pool p while decoding goes on; chunks stored by an earlier run
// are taken from the store when they hold the same audio. Every answer is
// stored before it counts as done. It returns the pieces in chunk order and
// the number of samples decoded. The first failure cancels the rest. The
// caller holds one place of p.ahead, for the first chunk.
//
// With diarization, each chunk's speech spans are embedded once its words
// are known (j.speakerWork). known, when set, gives every chunk's words
// from a stored transcript instead of the server: only the embeddings are
// asked for.
func (j *job) recognizeAll(ctx context.Context, p *pool, src audio.Stream, plan chunkPlan, opts inference.Options, stored map[int]store.Chunk, known func(audio.Chunk) transcript.ChunkResult) ([]transcript.Piece, int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	prio := j.prio
	held := true     // the caller's place
	var own *prioSem // this file's cap within the pool
	if j.req.Concurrency > 0 {
		own = newPrioSem(j.req.Concurrency)
	}
	chunker := audio.NewChunker(src, plan.options())

	var (
		mu      sync.Mutex
		pieces  []transcript.Piece
		wg      sync.WaitGroup
		samples int64
	)
	finish := func(i int, r transcript.ChunkResult, sec float64, how chunkHow) {
		mu.Lock()
		pieces[i].Result = r
		mu.Unlock()
		j.rep.chunkDone(sec, how)
	}
	for {
		if !held && !p.ahead.acquire(ctx, prio) {
			break
		}
		held = false
		if ctx.Err() != nil {
			p.ahead.release()
			break
		}
		c, err := chunker.Next()
		if errors.Is(err, io.EOF) {
			p.ahead.release()
			break
		}
		if err != nil {
			p.ahead.release()
			cancel(audioError(err))
			break
		}
		sec := float64(len(c.Samples)) / audio.SampleRate
		samples = c.Offset + int64(len(c.Samples))
		mu.Lock()
		pieces = append(pieces, transcript.Piece{Offset: float64(c.Offset) / audio.SampleRate, Duration: sec})
		i := len(pieces) - 1
		mu.Unlock()
		j.rep.chunkCut(sec)
		if i == 0 {
			j.rep.stage(StageTranscribing, fracStaged)
		}
		if c.Silent { // nothing to hear: done without asking the server
			finish(i, transcript.ChunkResult{}, sec, silent)
			if j.spk != nil {
				j.rep.embedded(sec)
			}
			p.ahead.release()
			continue
		}
		hash := audioHash(c.Samples)
		var have *transcript.ChunkResult
		how := fromStore
		if known != nil {
			r := known(c)
			have, how = &r, fromTranscript
		} else if s, ok := stored[c.Index]; ok && s.Offset == c.Offset && s.Samples == int64(len(c.Samples)) && s.AudioHash == hash {
			have = &s.Result
		}
		if have != nil && j.spk == nil {
			finish(i, *have, sec, how)
			p.ahead.release()
			continue
		}
		if have != nil { // only the speakers to ask for
			wg.Add(1)
			go func(i int, c audio.Chunk, sec float64, hash string, r transcript.ChunkResult) {
				defer wg.Done()
				aheadDone := sync.OnceFunc(p.ahead.release)
				defer aheadDone()
				if how == fromStore {
					finish(i, r, sec, how)
				}
				j.embedAfter(ctx, p, own, c, hash, r, opts, aheadDone)
				if how == fromTranscript {
					finish(i, r, sec, how)
				}
			}(i, c, sec, hash, *have)
			continue
		}
		if own != nil && !own.acquire(ctx, 1) {
			p.ahead.release()
			break
		}
		if !p.slots.acquire(ctx, prio) {
			if own != nil {
				own.release()
			}
			p.ahead.release()
			break
		}
		j.rep.sending()
		wg.Add(1)
		go func(i int, c audio.Chunk, sec float64, hash string) {
			defer wg.Done()
			aheadDone := sync.OnceFunc(p.ahead.release)
			defer aheadDone()
			r, err := j.model.Recognize(ctx, c.Index, c.Samples, opts)
			p.slots.release() // the server is done with it: let the next chunk go
			if own != nil {
				own.release()
			}
			if err != nil {
				cancel(fmt.Errorf("chunk %d at %s: %w", c.Index+1, clock(float64(c.Offset)/audio.SampleRate), err))
				return
			}
			if j.e.store != nil {
				saveCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
				err := j.e.store.PutChunk(saveCtx, store.Chunk{Plan: j.plan, Index: c.Index, Offset: c.Offset,
					Samples: int64(len(c.Samples)), AudioHash: hash, Result: r})
				stop()
				if err != nil {
					cancel(storeError(err))
					return
				}
			}
			finish(i, r, sec, fromServer)
			if j.spk != nil {
				j.embedAfter(ctx, p, own, c, hash, r, opts, aheadDone)
			}
		}(i, c, sec, hash)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	if len(pieces) == 0 {
		return nil, 0, apperr.New(apperr.CodeBadInput, nil, "the file holds no audio samples")
	}
	j.rep.cuttingDone(float64(samples) / audio.SampleRate)
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
	case errors.Is(err, audio.ErrNoAudio):
		return apperr.New(apperr.CodeBadInput, err, "the file has no sound track")
	case errors.Is(err, audio.ErrNeedsFFmpeg):
		// The audio package's words say which format and how to get ffmpeg.
		return apperr.New(apperr.CodeBadInput, err, "%v", detail)
	case errors.Is(err, audio.ErrFFmpeg):
		return apperr.New(apperr.CodeBadInput, err, "ffmpeg failed to decode the file: %s",
			strings.TrimPrefix(detail.Error(), audio.ErrFFmpeg.Error()+": "))
	case errors.Is(err, audio.ErrInvalidOptions):
		return apperr.New(apperr.CodeBadInput, err, "the channel chosen does not fit this file: %s (channels are counted from 0)",
			strings.TrimPrefix(detail.Error(), audio.ErrInvalidOptions.Error()+": "))
	case errors.Is(err, audio.ErrUnsupportedFormat):
		return apperr.New(apperr.CodeBadInput, err, "not an audio file this build can read: %v", detail)
	case errors.Is(err, audio.ErrCorrupt):
		return apperr.New(apperr.CodeBadInput, err, "the audio file is damaged: %v", detail)
	}
	return apperr.New(apperr.CodeBadInput, err, "cannot read the audio: %v", detail)
}

// decodeWarning is a decoder's warning as one sentence for the user,
// without the package's prefix.
func decodeWarning(err error) string {
	return oneLine(strings.TrimPrefix(err.Error(), "audio: "))
}

// decodeWarningText is decodeWarning for the UI. The decoders' warnings
// are not apperr sentences yet, so it carries their English only.
func decodeWarningText(err error) apperr.Text {
	return apperr.Text{Text: decodeWarning(err)}
}

// storeError is a database failure as the user sees it.
func storeError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return apperr.New(apperr.CodeFile, err, "cannot use the app's database: %v", err)
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func displayName(p string) string { return filepath.Base(p) }

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are passed
	}
	return data
}
