package transcribe

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/cache"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
)

// DiarizeRequest asks for the speakers of a transcript in the history,
// without transcribing it again.
type DiarizeRequest struct {
	HistoryID int64          `json:"historyId"`
	Server    string         `json:"server"` // host:port of the server with the speaker model
	Speakers  SpeakerOptions `json:"speakers"`
	// CacheDir is the cache folder to look for the staged copy in and
	// stage into; "" = the engine's.
	CacheDir string `json:"cacheDir,omitempty"`
	// FFmpegPath is the ffmpeg to decode with; "" = the default.
	FFmpegPath string `json:"ffmpegPath,omitempty"`
	// Force asks the speaker model again for every span, ignoring stored
	// embeddings.
	Force bool `json:"force,omitempty"`
}

// Diarize finds the speakers of history entry req.HistoryID: it decodes
// the entry's audio as it was transcribed (the staged copy in the cache,
// or else the source file again, when it still has the same content),
// embeds the spans of its words (reusing stored embeddings), clusters
// them across the file and gives every word and segment its speaker. The
// entry's transcript is replaced in the history as a rename replaces it
// (search and the speakers list follow); the words, their times and any
// edits stay. Nothing is exported.
//
// A server without a speaker model fails before any audio is read. A
// speaker-model failure returns the error and a Result with Diarization
// "failed" and the entry's transcript as it was.
func (e *Engine) Diarize(ctx context.Context, req DiarizeRequest, progress func(Progress)) (Result, error) {
	if e.store == nil {
		return Result{}, apperr.New(apperr.CodeBadInput, errNoStore, "diarizing a stored transcript needs the app's history, and this engine keeps none")
	}
	entry, t, err := e.store.Transcript(ctx, req.HistoryID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, apperr.New(apperr.CodeBadInput, err, "the history has no entry %d", req.HistoryID)
	}
	if err != nil {
		return Result{}, storeError(err)
	}
	var rec audioRecord
	if len(entry.Audio) > 0 {
		_ = json.Unmarshal(entry.Audio, &rec) // an unreadable record: the defaults
	}
	r := Request{Path: entry.Source, Server: req.Server, Model: entry.Model, CacheDir: req.CacheDir, FFmpegPath: req.FFmpegPath,
		Decoder: rec.Decode.Decoder, Channel: rec.Decode.Channel, ChunkSeconds: rec.ChunkSeconds, Force: req.Force, Speakers: &req.Speakers}
	rep := newReporter(0, entry.Source, e.chunkSeconds(r), progress)
	res, err := e.diarizeEntry(ctx, r, rep, entry)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			rep.stage(StageCancelled, 0)
		} else {
			rep.stage(StageFailed, 0)
		}
		res.Transcript, res.HistoryID, res.Outputs = t, entry.ID, []string{}
		return res, &fileError{name: displayName(entry.Source), err: err}
	}
	rep.stage(StageDone, 1)
	return res, nil
}

func (e *Engine) diarizeEntry(ctx context.Context, req Request, rep *reporter, entry store.Entry) (Result, error) {
	j := &job{e: e, req: req, rep: rep, prio: e.order.Add(1)}
	if err := j.openSpeakers(ctx); err != nil {
		return Result{}, err
	}
	rep.speakersOnly()
	audioOpts, dec, err := audioOptions(req)
	if err != nil {
		return Result{}, err
	}
	rep.stage(StageStaging, 0)
	c, err := e.Cache(ctx, req.CacheDir)
	if err != nil {
		return Result{}, err
	}
	lease, err := findAudio(ctx, c, entry, rep)
	if err != nil {
		return Result{}, err
	}
	defer lease.Release()
	// The entry as stored now: it may have changed while the copy was made.
	_, t, err := e.store.Transcript(ctx, entry.ID)
	if err != nil {
		return Result{}, storeError(err)
	}
	p := e.pool(req.Server)
	opts := inference.Options{Limiter: p.lim}
	plan := newChunkPlan(e.chunkSeconds(req))
	out, err := j.diarizeStored(ctx, entry.ID, t, lease.Staged, audioOpts, dec, plan, p, opts)
	if err != nil {
		if j.spk.failed() {
			return Result{Diarization: DiarizationFailed, DiarizationError: diarizationFailed(err)}, err
		}
		return Result{}, err
	}
	return Result{Transcript: out, Outputs: []string{}, HistoryID: entry.ID, Diarization: DiarizationDone}, nil
}

// findAudio leases the audio of entry: the staged copy when the cache
// still has it, else a new copy of the source file when that still holds
// the same content.
func findAudio(ctx context.Context, c *cache.Cache, entry store.Entry, rep *reporter) (*cache.Lease, error) {
	if l, err := c.Acquire(entry.SHA256); err == nil {
		return l, nil
	}
	if _, err := os.Stat(entry.Source); errors.Is(err, fs.ErrNotExist) {
		return nil, apperr.New(apperr.CodeFile, err, "the audio of this transcript is gone: it is no longer in the cache folder %s, and %s no longer exists; put the file back there to find its speakers", c.Dir(), entry.Source)
	}
	l, err := c.Stage(ctx, entry.Source, staging.Options{Progress: rep.staging})
	if err != nil {
		return nil, err
	}
	if l.SHA256 != entry.SHA256 {
		l.Release()
		return nil, apperr.New(apperr.CodeFile, nil, "%s has changed since it was transcribed, and the copy transcribed then is no longer in the cache: transcribe it again to find its speakers", entry.Source)
	}
	return l, nil
}
