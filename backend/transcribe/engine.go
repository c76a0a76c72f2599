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
	"runtime"
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

// Files up to smallStageBytes are copied smallAtOnce at a time, beside the
// large ones' turns: such a copy is over in a moment, and a queue of short
// recordings (one chunk each) otherwise waits on one copy's flush after
// another while the server idles.
const (
	smallStageBytes = 8 << 20
	smallAtOnce     = 8
)

// chunkRetention is how long finished chunks of a file that was never
// completed are kept.
const chunkRetention = 30 * 24 * time.Hour

// maxChunkSeconds bounds Request.ChunkSeconds (the chunker's own limit).
const maxChunkSeconds = 600

// drainWait is how long a chunk may stay on a connection Reconnect
// retired before it is called back and sent again on a fresh one: long
// enough for a chunk the server is working on to come back, short enough
// that one stuck retrying under the old settings does not hold the job.
const drainWait = 30 * time.Second

// maxResends bounds how often one chunk is sent again because the
// connection it was on was retired (several settings changes in a row).
const maxResends = 3

// Recognizer hears one chunk: *inference.Model, and *liveModel, which
// jobs use, over it.
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

	// Speaker embeddings per chunk, and the history entry diarization
	// rewrites.
	EmbeddingsFor(ctx context.Context, plan string) (map[int]store.Embeddings, error)
	PutEmbeddings(ctx context.Context, e store.Embeddings) error
	DropEmbeddings(ctx context.Context, plan string) error
	Transcript(ctx context.Context, id int64) (store.Entry, transcript.Transcript, error)
	ChangeTranscript(ctx context.Context, id int64, change func(transcript.Transcript) (transcript.Transcript, error)) error
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
	// retries), given Request.Server; default inference.Connect. It is
	// called again after Reconnect, so it may give other settings then. A
	// program with an inference.Config connects with
	// inference.ConnectConfig and names it in requests by its addresses.
	Connect func(addr string) (*inference.Server, error)
	// SpeakerSpans is what diarization embeds; "" = SpansWords.
	SpeakerSpans SpanMode
}

// Engine transcribes files. It keeps one connection per server, one
// checked model per (server, model) and one request pool per server, and
// is safe for concurrent use. Reconnect makes it dial again, with what
// Connect gives then, without stopping the jobs in flight.
type Engine struct {
	cfg        Config
	store      Store // nil: nothing persisted
	closeStore func() error

	mu    sync.Mutex
	conns map[string]*conn // the current connection per address, as given
	dials map[string]*dialSlot
	// generation counts Reconnects and Closes: a dial that started
	// before one is not kept.
	generation int
	retired    map[*conn]struct{} // forgotten by Reconnect, still carrying calls
	models     map[[2]string]*openModel
	pools      map[string]*pool
	running    map[string]chan struct{} // plans being transcribed, closed when done
	order      atomic.Int64             // job runs started: a run's priority in the pools
	staging    *prioSem                 // copies into the cache running at once
	stagingSm  *prioSem                 // the same for small files
	starting   *prioSem                 // files getting ready to decode, oldest first
	caches     map[string]*cache.Cache  // open cache folders by absolute path

	// ModelWait bounds the wait for a model that is still loading.
	ModelWait time.Duration
	// drainWait: see the constant; tests shorten it.
	drainWait time.Duration
}

// openModel is a model checked against the contract. Its Recognizer is a
// *liveModel: each chunk goes over the server's current connection.
type openModel struct {
	Recognizer
	name, version string
}

// conn is one dialled server and the models checked on it. Calls lease it
// for their duration; once Reconnect has retired it, its last call closes
// it.
type conn struct {
	srv      *inference.Server
	models   map[string]*modelSlot              // checked on this connection, by name
	speakers map[string]*inference.SpeakerModel // speaker models checked on it, by name
	users    int                                // calls on it now: chunks, status, queue watches
	closed   bool
	// gone ends when Reconnect retires the connection; drain ends
	// drainWait later, calling back the chunks still on it.
	gone      context.Context
	retire    context.CancelFunc
	drain     context.Context
	stopDrain context.CancelFunc
}

// modelSlot is one model's check on one connection; done closes when m or
// err is set.
type modelSlot struct {
	done chan struct{}
	m    *inference.Model
	err  error
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
		conns:     map[string]*conn{},
		dials:     map[string]*dialSlot{},
		retired:   map[*conn]struct{}{},
		models:    map[[2]string]*openModel{},
		pools:     map[string]*pool{},
		running:   map[string]chan struct{}{},
		staging:   newPrioSem(stagingAtOnce),
		stagingSm: newPrioSem(smallAtOnce),
		starting:  newPrioSem(runtime.NumCPU()),
		caches:    map[string]*cache.Cache{},
		ModelWait: cfg.ModelWait,
		drainWait: drainWait,
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
		_, _ = db.PruneEmbeddings(ctx, time.Now().Add(-chunkRetention))
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
	e.generation++
	var errs []error
	for addr, c := range e.conns {
		c.closed = true
		errs = append(errs, c.shut())
		delete(e.conns, addr)
	}
	for c := range e.retired {
		c.closed = true
		c.shut() // its calls end with the engine
		delete(e.retired, c)
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

// lease returns the current connection to addr, dialling it through
// Config.Connect first if there is none, and counts the caller as its
// user until unlease. The dial runs outside e.mu (Connect may read the OS
// keyring or certificate files), one per address at a time: callers that
// need the same address meanwhile wait for it.
func (e *Engine) lease(addr string) (*conn, error) {
	for {
		e.mu.Lock()
		if c, ok := e.conns[addr]; ok {
			c.users++
			e.mu.Unlock()
			return c, nil
		}
		if d, ok := e.dials[addr]; ok {
			e.mu.Unlock()
			<-d.done
			if d.err != nil {
				return nil, d.err
			}
			continue // its connection is in e.conns now, unless a Reconnect came meanwhile
		}
		d := &dialSlot{done: make(chan struct{})}
		e.dials[addr] = d
		gen := e.generation
		e.mu.Unlock()

		s, err := e.cfg.Connect(addr)

		e.mu.Lock()
		delete(e.dials, addr)
		d.err = err
		close(d.done)
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
		if e.generation != gen {
			// Reconnect (or Close) came while dialling: the settings
			// this dial used may be stale.
			e.mu.Unlock()
			s.Close()
			continue
		}
		c := &conn{srv: s, models: map[string]*modelSlot{}, speakers: map[string]*inference.SpeakerModel{}, users: 1}
		c.gone, c.retire = context.WithCancel(context.Background())
		c.drain, c.stopDrain = context.WithCancel(context.Background())
		e.conns[addr] = c
		e.mu.Unlock()
		return c, nil
	}
}

// dialSlot is one dial in progress; done closes when err is set (and, on
// success, the connection is in e.conns).
type dialSlot struct {
	done chan struct{}
	err  error
}

// unlease ends one use of c and reports whether c was retired meanwhile;
// the last use of a retired connection closes it.
func (e *Engine) unlease(c *conn) (retired bool) {
	e.mu.Lock()
	c.users--
	retired = c.gone.Err() != nil
	last := retired && c.users == 0 && !c.closed
	if last {
		c.closed = true
		delete(e.retired, c)
	}
	e.mu.Unlock()
	if last {
		c.shut()
	}
	return retired
}

// shut ends the connection and its contexts. Callers set c.closed under
// e.mu first, so that it happens once.
func (c *conn) shut() error {
	c.retire()
	c.stopDrain()
	return c.srv.Close()
}

// Reconnect forgets every server connection, so that the next call dials
// again through Config.Connect and so uses the TLS settings and headers
// it gives now. Nothing in flight is lost: a chunk already on an old
// connection finishes there (or, still there after drainWait, is called
// back), and a chunk that fails on a retired connection is sent again on
// a fresh one, so the jobs go on. The request pools and their limiters
// are the server's, not the connection's: they stay, with their count of
// requests in flight. A connection closes when its last call ends.
func (e *Engine) Reconnect() {
	e.mu.Lock()
	e.generation++
	var idle []*conn
	for addr, c := range e.conns {
		delete(e.conns, addr)
		c.retire()
		if c.users == 0 {
			c.closed = true
			idle = append(idle, c)
			continue
		}
		e.retired[c] = struct{}{}
		time.AfterFunc(e.drainWait, c.stopDrain)
	}
	// Jobs that start from now check their model on the new connection.
	clear(e.models)
	e.mu.Unlock()
	for _, c := range idle {
		c.shut()
	}
}

// ServerStatus asks a server what it is and which models it hosts.
func (e *Engine) ServerStatus(ctx context.Context, addr string) (inference.ServerStatus, error) {
	c, err := e.lease(addr)
	if err != nil {
		return inference.ServerStatus{}, err
	}
	defer e.unlease(c)
	return c.srv.Status(ctx)
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
	c, err := e.lease(addr)
	if err != nil {
		return nil, err
	}
	defer e.unlease(c)
	// Each job asks itself (not through modelOn), so that each hears
	// onWait while the model loads.
	opened, err := c.srv.OpenModel(ctx, name, inference.WaitOptions{Timeout: e.ModelWait, OnWait: onWait})
	if err != nil {
		return nil, err
	}
	m = &openModel{Recognizer: &liveModel{e: e, addr: addr, name: name}, name: opened.Name, version: opened.Version}
	e.mu.Lock()
	if _, ok := c.models[name]; !ok {
		done := make(chan struct{})
		close(done)
		c.models[name] = &modelSlot{done: done, m: opened}
	}
	if old, ok := e.models[key]; ok { // another job opened it meanwhile
		m = old
	} else if e.conns[addr] == c { // not if a Reconnect came meanwhile
		e.models[key] = m
	}
	e.mu.Unlock()
	return m, nil
}

// modelOn returns the model name as checked on c, checking it there once
// for all the chunks that need it. A failed check is not kept: the next
// chunk asks again.
func (e *Engine) modelOn(ctx context.Context, c *conn, name string) (*inference.Model, error) {
	for {
		e.mu.Lock()
		slot, ok := c.models[name]
		if !ok {
			slot = &modelSlot{done: make(chan struct{})}
			c.models[name] = slot
			e.mu.Unlock()
			slot.m, slot.err = c.srv.OpenModel(ctx, name, inference.WaitOptions{Timeout: e.ModelWait})
			if slot.err != nil {
				e.mu.Lock()
				if c.models[name] == slot {
					delete(c.models, name)
				}
				e.mu.Unlock()
			}
			close(slot.done)
			return slot.m, slot.err
		}
		e.mu.Unlock()
		select {
		case <-slot.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case slot.err == nil:
			return slot.m, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !errors.Is(slot.err, context.Canceled) && !errors.Is(slot.err, context.DeadlineExceeded):
			return nil, slot.err
		}
		// The chunk that was checking gave up (its job was cancelled):
		// check for this one.
	}
}

// liveModel is a model as a job sees it: every chunk leases the server's
// current connection, so a Reconnect takes effect from the next chunk on.
type liveModel struct {
	e          *Engine
	addr, name string
}

// Recognize sends one chunk over the current connection. A chunk that
// fails on a connection Reconnect retired while it was there (the old
// settings refused, or drainWait called it back) is sent again on a
// fresh one: what the old settings did says nothing about the new ones.
func (l *liveModel) Recognize(ctx context.Context, id int, samples []float32, opts inference.Options) (transcript.ChunkResult, error) {
	for resent := 0; ; resent++ {
		c, err := l.e.lease(l.addr)
		if err != nil {
			return transcript.ChunkResult{}, err
		}
		var r transcript.ChunkResult
		callCtx, stop := context.WithCancel(ctx)
		unhook := context.AfterFunc(c.drain, stop)
		m, err := l.e.modelOn(callCtx, c, l.name)
		if err == nil {
			r, err = m.Recognize(callCtx, id, samples, opts)
		}
		unhook()
		stop()
		retired := l.e.unlease(c)
		if err == nil || ctx.Err() != nil || !retired {
			return r, err
		}
		if resent == maxResends {
			return r, apperr.New(apperr.CodeUnreachable, err, "the connection settings changed %d times while chunk %d was being sent: try again", maxResends+1, id+1)
		}
	}
}

// WatchQueue is inference.Model's WatchQueue over the current connection,
// moving to the new one after a Reconnect; it returns when ctx ends.
func (l *liveModel) WatchQueue(ctx context.Context, lim *inference.Limiter, every time.Duration) {
	for ctx.Err() == nil {
		c, err := l.e.lease(l.addr)
		if err == nil {
			watchCtx, stop := context.WithCancel(ctx)
			unhook := context.AfterFunc(c.gone, stop)
			var m *inference.Model
			if m, err = l.e.modelOn(watchCtx, c, l.name); err == nil {
				m.WatchQueue(watchCtx, lim, every)
			}
			unhook()
			stop()
			l.e.unlease(c)
		}
		if err != nil { // no connection or model now: the chunks say why; look again later
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}
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
