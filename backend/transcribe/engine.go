// Package transcribe runs files through the whole path: stage, decode,
// chunk, infer, stitch, export. Engine does one file (Transcribe) and owns
// what all files share: server connections, one pool of requests in flight
// per server, and the store. Queue runs many files on an Engine, with
// events for the UI. Steps it does not own come in through small
// interfaces, so tests can swap any of them.
package transcribe

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/cache"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// DefaultConcurrency is how many ModelInfer requests are in flight to one
// server at once, across all files, unless Config says otherwise.
const DefaultConcurrency = 8

// DefaultChunkSeconds is the longest chunk sent to the model.
const DefaultChunkSeconds = 30

// stagingAtOnce is how many files are copied into the cache at once:
// enough to overlap one copy's flush with the next one's reading.
const stagingAtOnce = 2

// chunkRetention is how long finished chunks of a file that was never
// completed are kept.
const chunkRetention = 30 * 24 * time.Hour

// maxChunkSeconds bounds Request.ChunkSeconds (the chunker's own limit).
const maxChunkSeconds = 600

// Recognizer hears one chunk; *inference.Model is the production one.
type Recognizer interface {
	Recognize(ctx context.Context, id int, samples []float32, opts inference.Options) (transcript.ChunkResult, error)
}

// Store is what the engine keeps across runs; *store.DB is the production
// one.
type Store interface {
	Chunks(ctx context.Context, plan string) (map[int]store.Chunk, error)
	PutChunk(ctx context.Context, c store.Chunk) error
	DropChunks(ctx context.Context, plan string) error
	TranscriptFor(ctx context.Context, plan string) (store.Entry, transcript.Transcript, bool, error)
	PutTranscript(ctx context.Context, e store.Entry, t transcript.Transcript) (int64, error)
	Touch(ctx context.Context, id int64, source string) error
	CreateJob(ctx context.Context, source string, settings any, state string) (int64, error)
	UpdateJob(ctx context.Context, id int64, u store.JobUpdate) error
	Jobs(ctx context.Context, states ...string) ([]store.Job, error)
	DeleteJob(ctx context.Context, id int64) error
}

// Config sets up an Engine. The zero value works: defaults everywhere and
// nothing persisted.
type Config struct {
	// DataDir holds the database (see package store); "" keeps nothing
	// across runs. Store, when set, is used instead.
	DataDir string
	Store   Store
	// CacheDir is where staged copies go for requests without their own;
	// "" means config.DefaultCacheDir().
	CacheDir string
	// CacheMaxBytes caps the staged copies kept in a cache folder (least
	// recently used go first; a copy a job still uses never does). 0
	// means cache.DefaultMaxBytes, negative no cap.
	CacheMaxBytes int64
	// Concurrency is the number of ModelInfer requests in flight to one
	// server, shared by every file; default DefaultConcurrency.
	Concurrency int
	// ChunkSeconds is the longest chunk for requests that do not say;
	// default DefaultChunkSeconds.
	ChunkSeconds float64
	// ModelWait bounds the wait for a model that is still loading;
	// default 60 s.
	ModelWait time.Duration
	// Connect opens a connection to a server (TLS, headers, priority,
	// retries), given Request.Server; default inference.Connect. A
	// program with an inference.Config connects with
	// inference.ConnectConfig and names it in requests by its addresses.
	Connect func(addr string) (*inference.Server, error)
}

// Engine transcribes files. It keeps one connection per server, one
// checked model per (server, model) and one request pool per server, and
// is safe for concurrent use.
type Engine struct {
	cfg        Config
	store      Store // nil: nothing persisted
	closeStore func() error

	mu      sync.Mutex
	servers map[string]*inference.Server
	models  map[[2]string]*openModel
	pools   map[string]*pool
	running map[string]chan struct{} // plans being transcribed, closed when done
	order   atomic.Int64             // job runs started: a run's priority in the pools
	staging *prioSem                 // copies into the cache running at once
	caches  map[string]*cache.Cache  // open cache folders by absolute path

	// ModelWait bounds the wait for a model that is still loading.
	ModelWait time.Duration
}

// openModel is a model checked against the contract.
type openModel struct {
	Recognizer
	name, version string
}

// NewEngine returns an engine with defaults that keeps nothing across
// runs. Use Open for one with a store.
func NewEngine() *Engine {
	e, _ := Open(Config{})
	return e
}

// Open returns an engine for cfg, opening the database in cfg.DataDir.
func Open(cfg Config) (*Engine, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if !(cfg.ChunkSeconds > 0) {
		cfg.ChunkSeconds = DefaultChunkSeconds
	}
	if cfg.ChunkSeconds > maxChunkSeconds {
		return nil, apperr.New(apperr.CodeBadInput, nil, "chunks of %g s are too long: at most %d s", cfg.ChunkSeconds, maxChunkSeconds)
	}
	if cfg.ModelWait <= 0 {
		cfg.ModelWait = 60 * time.Second
	}
	if cfg.Connect == nil {
		cfg.Connect = inference.Connect
	}
	e := &Engine{
		cfg:       cfg,
		store:     cfg.Store,
		servers:   map[string]*inference.Server{},
		models:    map[[2]string]*openModel{},
		pools:     map[string]*pool{},
		running:   map[string]chan struct{}{},
		staging:   newPrioSem(stagingAtOnce),
		caches:    map[string]*cache.Cache{},
		ModelWait: cfg.ModelWait,
	}
	if e.store == nil && cfg.DataDir != "" {
		db, err := store.Open(cfg.DataDir)
		if err != nil {
			return nil, apperr.New(apperr.CodeFile, err, "cannot open the app's database in %s: %v", cfg.DataDir, err)
		}
		e.store, e.closeStore = db, db.Close
		// Work on files nobody came back to for a month is dropped.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = db.PruneChunks(ctx, time.Now().Add(-chunkRetention))
		cancel()
	}
	return e, nil
}

// Concurrency is the size of each server's request pool.
func (e *Engine) Concurrency() int { return e.cfg.Concurrency }

// Store is the engine's store, nil when nothing is persisted.
func (e *Engine) Store() Store { return e.store }

// Close ends every server connection and closes the database.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for addr, s := range e.servers {
		errs = append(errs, s.Close())
		delete(e.servers, addr)
	}
	clear(e.models)
	for _, p := range e.pools {
		p.stopWatching()
	}
	if e.closeStore != nil {
		errs = append(errs, e.closeStore())
		e.closeStore = nil
	}
	return errors.Join(errs...)
}

// Cache opens the cache folder dir ("" = the engine's CacheDir, else the
// user cache folder) once per engine and returns it: the UI shows its
// Warnings and Usage, and jobs stage their inputs through it.
func (e *Engine) Cache(ctx context.Context, dir string) (*cache.Cache, error) {
	if dir == "" {
		dir = e.cfg.CacheDir
	}
	if dir == "" {
		d, err := config.DefaultCacheDir()
		if err != nil {
			return nil, apperr.New(apperr.CodeFile, err, "%v", err)
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.caches[abs]; ok {
		return c, nil
	}
	c, err := cache.Open(ctx, cache.Config{Dir: abs, MaxBytes: e.cfg.CacheMaxBytes})
	if err != nil {
		return nil, err
	}
	e.caches[abs] = c
	return c, nil
}

func (e *Engine) server(addr string) (*inference.Server, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.servers[addr]; ok {
		return s, nil
	}
	s, err := e.cfg.Connect(addr)
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

func (e *Engine) model(ctx context.Context, addr, name string, onWait func(time.Duration, string)) (*openModel, error) {
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
	m = &openModel{Recognizer: opened, name: opened.Name, version: opened.Version}
	e.mu.Lock()
	if old, ok := e.models[key]; ok { // another job opened it meanwhile
		m = old
	} else {
		e.models[key] = m
	}
	e.mu.Unlock()
	return m, nil
}

func (e *Engine) pool(addr string) *pool {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := normalizeServer(addr)
	p, ok := e.pools[key]
	if !ok {
		p = newPool(e.cfg.Concurrency)
		e.pools[key] = p
	}
	return p
}

// claim marks plan as being transcribed by the caller. When another job is
// already at it (the same content twice in one batch), claim waits for
// that one to finish first, so its stored result is reused instead of
// sending every chunk twice. The returned func ends the claim.
func (e *Engine) claim(ctx context.Context, plan string, onWait func()) (func(), error) {
	for {
		e.mu.Lock()
		busy, ok := e.running[plan]
		if !ok {
			done := make(chan struct{})
			e.running[plan] = done
			e.mu.Unlock()
			return func() {
				e.mu.Lock()
				delete(e.running, plan)
				e.mu.Unlock()
				close(done)
			}, nil
		}
		e.mu.Unlock()
		if onWait != nil {
			onWait()
		}
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Transcribe runs one request to the end, reporting progress as it goes.
// The user's file is only ever read, through its staged copy; outputs are
// written only when the whole file succeeded. It shares the engine's
// request pools with every other file in flight.
func (e *Engine) Transcribe(ctx context.Context, req Request, progress func(Progress)) (Result, error) {
	rep := newReporter(0, req.Path, e.chunkSeconds(req), progress)
	return e.transcribe(ctx, req, rep)
}

// transcribe runs req and reports its end state.
func (e *Engine) transcribe(ctx context.Context, req Request, rep *reporter) (Result, error) {
	res, err := e.run(ctx, req, rep)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			rep.stage(StageCancelled, 0)
		} else {
			rep.stage(StageFailed, 0)
		}
		return Result{}, &fileError{name: displayName(req.Path), err: err}
	}
	rep.stage(StageDone, 1)
	return res, nil
}

// fileError puts the file's name in front of what went wrong with it.
type fileError struct {
	name string
	err  error
}

func (e *fileError) Error() string { return e.name + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func (e *Engine) chunkSeconds(req Request) float64 {
	if req.ChunkSeconds > 0 {
		return math.Min(req.ChunkSeconds, maxChunkSeconds)
	}
	return e.cfg.ChunkSeconds
}
