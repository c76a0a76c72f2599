package transcribe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
)

// Errors of the Queue's methods.
var (
	ErrUnknownJob = errors.New("no such job")
	ErrNotRetry   = errors.New("only a failed or cancelled job can be retried")
	ErrClosed     = errors.New("the queue is closed")
)

// QueueOptions tune a Queue. The zero value is ready to use.
type QueueOptions struct {
	// MaxActive is how many files are worked on at once (staging, decoding,
	// transcribing). Their chunks share the engine's request pools, so this
	// only needs to be large enough to keep the pools full with short
	// files. Default: twice the engine's concurrency.
	MaxActive int
	// ProgressInterval is the shortest gap between two progress events of
	// one job within one state; a change of state is sent at once.
	// Default 100 ms.
	ProgressInterval time.Duration
}

// Queue runs many files on one Engine: each job moves through the stages
// on its own, so one file's failure or cancellation never stops another,
// while their chunks share the engine's pool of requests in flight.
// Changes are delivered as Events, in order, to subscribers. Jobs are
// recorded in the engine's store when it has one. Safe for concurrent use.
type Queue struct {
	e    *Engine
	opts QueueOptions

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // runners and the event goroutines

	mu     sync.Mutex
	jobs   map[JobID]*queued
	order  []JobID
	next   JobID
	active int
	closed bool
	names  map[string]bool // out dir + lowercased stem, taken in this queue
	// unrecorded are store ids of jobs cancelled before they ran, to be
	// recorded once q.mu is released (recordCancelled).
	unrecorded []int64
	changed    chan struct{} // closed and replaced on every state change

	subMu     sync.Mutex
	subs      map[int]*subscriber
	nextSub   int
	delivered chan struct{} // closed when deliver has handed out the last event

	evMu    sync.Mutex
	events  []Event
	evReady chan struct{}
}

// queued is a job and what the queue knows about it.
type queued struct {
	snap    Job
	result  *Result
	storeID int64
	run     int // counts runs; progress from an older run is ignored
	cancel  context.CancelFunc
	// byUser: cancelled through Cancel or CancelAll, not by Close. A job
	// Close stops keeps its unfinished state in the store, so Restore
	// takes it up again at the next start.
	byUser bool
	// stopped: this run was asked to stop (Cancel, CancelAll, Close). Only
	// then is a run that ends in context.Canceled a cancellation; otherwise
	// something below gave up (a server or proxy answering CANCELLED, a
	// connection closing) and the job failed.
	stopped  bool
	lastEmit time.Time
	lastSent Stage
	pending  bool
}

// NewQueue returns a queue on e. Close it to stop its work.
func NewQueue(e *Engine, opts QueueOptions) *Queue {
	if opts.MaxActive <= 0 {
		opts.MaxActive = 2 * e.Concurrency()
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 100 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		e: e, opts: opts, ctx: ctx, cancel: cancel,
		jobs: map[JobID]*queued{}, names: map[string]bool{}, changed: make(chan struct{}),
		subs: map[int]*subscriber{}, evReady: make(chan struct{}, 1), delivered: make(chan struct{}),
	}
	q.wg.Add(2)
	go q.deliver()
	go q.flushLoop()
	return q
}

// Subscribe calls fn with every event from now on, in order, from a
// goroutine of its own: a slow fn (a desktop notification, a blocked
// terminal) delays only its own events, never the queue or the other
// subscribers. The returned func unsubscribes; events not yet handed to fn
// are dropped.
func (q *Queue) Subscribe(fn func(Event)) (unsubscribe func()) {
	sub := &subscriber{fn: fn, ready: make(chan struct{}, 1), gone: make(chan struct{}), exited: make(chan struct{})}
	q.subMu.Lock()
	defer q.subMu.Unlock()
	select {
	case <-q.delivered: // closed: no event will come
		return func() {}
	default:
	}
	id := q.nextSub
	q.nextSub++
	q.subs[id] = sub
	go func() {
		defer close(sub.exited)
		sub.run(q.delivered)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.subMu.Lock()
			delete(q.subs, id)
			q.subMu.Unlock()
			close(sub.gone)
		})
	}
}

// subscriber is one Subscribe: its events wait in pending until its own
// goroutine hands them to fn.
type subscriber struct {
	fn      func(Event)
	mu      sync.Mutex
	pending []Event
	ready   chan struct{} // a token when pending has grown
	gone    chan struct{} // closed by unsubscribe
	exited  chan struct{} // closed when run returns
}

func (s *subscriber) post(batch []Event) {
	s.mu.Lock()
	s.pending = append(s.pending, batch...)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// run hands pending events to fn until unsubscribe, or until the queue
// has delivered its last event and they are all handed over.
func (s *subscriber) run(delivered <-chan struct{}) {
	for {
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		for _, ev := range batch {
			select {
			case <-s.gone:
				return
			default:
			}
			s.fn(ev)
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.ready:
		case <-s.gone:
			return
		case <-delivered:
			s.mu.Lock()
			empty := len(s.pending) == 0
			s.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// Add queues req and returns its job's id. When req exports to a folder
// and another job of this queue already uses the same output name there,
// this one gets a distinct name: "talk (2)". The job is recorded in the
// store before it is listed, so a Cancel or Remove that follows at once
// always has a record to write to, and no runner starts it unrecorded.
func (q *Queue) Add(req Request) (JobID, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, ErrClosed
	}
	if req.OutDir != "" && req.OutName == "" {
		req.OutName = q.uniqueName(req.OutDir, Stem(req.Path))
	}
	q.mu.Unlock()

	var sid int64
	s := q.e.store
	if s != nil {
		if id, err := s.CreateJob(q.ctx, req.Path, req, string(StageQueued)); err == nil {
			sid = id
		}
	}

	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		if sid != 0 {
			_ = s.DeleteJob(context.Background(), sid) // never listed: nothing to restore
		}
		return 0, ErrClosed
	}
	q.next++
	id := q.next
	j := &queued{storeID: sid, snap: Job{ID: id, Request: req, State: StageQueued, Outputs: []string{}, Attempts: 1, Added: time.Now(),
		Progress: Progress{JobID: id, Path: req.Path, Stage: StageQueued, ETASeconds: -1}}}
	q.jobs[id] = j
	q.order = append(q.order, id)
	q.emitLocked(j, EventAdded, true)
	q.mu.Unlock()
	q.schedule()
	return id, nil
}

// uniqueName reserves stem in dir for this queue, or "stem (2)", "stem (3)"
// when taken. Names are compared ignoring case: Windows and macOS do.
func (q *Queue) uniqueName(dir, stem string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	name := stem
	for n := 2; q.names[abs+"\x00"+strings.ToLower(name)]; n++ {
		name = fmt.Sprintf("%s (%d)", stem, n)
	}
	q.names[abs+"\x00"+strings.ToLower(name)] = true
	return name
}

// Restore queues again the jobs the store records as unfinished: those a
// crash, a kill or a closed app interrupted. Their finished chunks are in
// the store, so only the rest is sent. (A job another process is running
// right now also looks unfinished; restore once, at the app's start.)
func (q *Queue) Restore(ctx context.Context) ([]JobID, error) {
	s := q.e.store
	if s == nil {
		return nil, nil
	}
	recs, err := s.Jobs(ctx, string(StageQueued), string(StageStaging), string(StageDecoding), string(StageTranscribing), string(StageExporting))
	if err != nil {
		return nil, storeError(err)
	}
	var ids []JobID
	for _, r := range recs {
		var req Request
		if err := json.Unmarshal(r.Settings, &req); err != nil || req.Path == "" {
			continue
		}
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return ids, ErrClosed
		}
		if req.OutDir != "" {
			key, _ := filepath.Abs(req.OutDir)
			q.names[key+"\x00"+strings.ToLower(req.OutName)] = true
		}
		q.next++
		id := q.next
		j := &queued{storeID: r.ID, snap: Job{ID: id, Request: req, State: StageQueued, Outputs: []string{}, Attempts: 1, Added: r.CreatedAt,
			Progress: Progress{JobID: id, Path: req.Path, Stage: StageQueued, ETASeconds: -1}}}
		q.jobs[id] = j
		q.order = append(q.order, id)
		q.emitLocked(j, EventAdded, true)
		q.mu.Unlock()
		ids = append(ids, id)
	}
	q.schedule()
	return ids, nil
}

// Cancel stops one job: a queued one never starts, a running one stops
// sending and writes nothing. Cancelling a finished job does nothing.
func (q *Queue) Cancel(id JobID) error {
	q.mu.Lock()
	j, ok := q.jobs[id]
	if !ok {
		q.mu.Unlock()
		return fmt.Errorf("job %d: %w", id, ErrUnknownJob)
	}
	q.cancelLocked(j, true)
	q.mu.Unlock()
	q.recordCancelled()
	return nil
}

// CancelAll cancels every job that has not finished.
func (q *Queue) CancelAll() {
	q.mu.Lock()
	for _, id := range q.order {
		q.cancelLocked(q.jobs[id], true)
	}
	q.mu.Unlock()
	q.recordCancelled()
}

// recordCancelled writes down the jobs cancelled before they ran.
func (q *Queue) recordCancelled() {
	q.mu.Lock()
	ids := q.unrecorded
	q.unrecorded = nil
	q.mu.Unlock()
	for _, sid := range ids {
		q.recordState(sid, StageCancelled, "cancelled")
	}
}

func (q *Queue) cancelLocked(j *queued, byUser bool) {
	if j.snap.State.Finished() {
		return
	}
	j.byUser = byUser
	switch {
	case j.snap.State == StageQueued:
		q.finishLocked(j, StageCancelled, "cancelled", string(apperr.CodeCanceled))
	case j.cancel != nil:
		j.stopped = true
		j.cancel() // the runner records the end
	}
}

// Retry queues a failed or cancelled job again. Chunks it finished before
// are taken from the store, not sent again.
func (q *Queue) Retry(id JobID) error { return q.RetryWith(id, nil) }

// RetryWith is Retry after change has adjusted the job's request: set
// Overwrite once the user agreed to replace existing outputs, Force to
// transcribe afresh, another OutDir...
func (q *Queue) RetryWith(id JobID, change func(*Request)) error {
	q.mu.Lock()
	j, ok := q.jobs[id]
	switch {
	case !ok:
		q.mu.Unlock()
		return fmt.Errorf("job %d: %w", id, ErrUnknownJob)
	case q.closed:
		q.mu.Unlock()
		return ErrClosed
	case j.snap.State != StageFailed && j.snap.State != StageCancelled:
		q.mu.Unlock()
		return fmt.Errorf("job %d is %s: %w", id, j.snap.State, ErrNotRetry)
	}
	if change != nil {
		change(&j.snap.Request)
	}
	j.snap.State, j.snap.Error, j.snap.ErrorCode, j.snap.ExistingOutputs, j.snap.Warnings, j.snap.WarningTexts = StageQueued, "", "", nil, nil, nil
	j.snap.ErrorText = nil
	j.snap.Diarization, j.snap.DiarizationError = DiarizationNone, ""
	j.byUser = false
	j.snap.Attempts++
	j.snap.Progress = Progress{JobID: id, Path: j.snap.Request.Path, Stage: StageQueued, ETASeconds: -1}
	j.snap.Started, j.snap.Finished = time.Time{}, time.Time{}
	q.emitLocked(j, EventUpdated, true)
	q.broadcastLocked()
	sid := j.storeID
	q.mu.Unlock()
	q.recordState(sid, StageQueued, "")
	q.schedule()
	return nil
}

// Remove takes a job off the list, cancelling it first if it is not
// finished. Its transcript stays in the history.
func (q *Queue) Remove(id JobID) error {
	q.mu.Lock()
	j, ok := q.jobs[id]
	if !ok {
		q.mu.Unlock()
		return fmt.Errorf("job %d: %w", id, ErrUnknownJob)
	}
	if j.cancel != nil {
		j.cancel()
	}
	delete(q.jobs, id)
	q.order = slices.DeleteFunc(q.order, func(x JobID) bool { return x == id })
	q.emitLocked(j, EventRemoved, true)
	q.broadcastLocked()
	sid, finished := j.storeID, j.snap.State.Finished()
	q.mu.Unlock()
	if s := q.e.store; s != nil && sid != 0 && !finished {
		_ = s.DeleteJob(context.Background(), sid) // not to be restored
	}
	return nil
}

// Jobs returns every job's snapshot, in the order added.
func (q *Queue) Jobs() []Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Job, 0, len(q.order))
	for _, id := range q.order {
		out = append(out, q.jobs[id].snapshot())
	}
	return out
}

// Job returns one job's snapshot.
func (q *Queue) Job(id JobID) (Job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	if !ok {
		return Job{}, false
	}
	return j.snapshot(), true
}

// Result returns a finished job's transcript and outputs.
func (q *Queue) Result(id JobID) (Result, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	switch {
	case !ok:
		return Result{}, fmt.Errorf("job %d: %w", id, ErrUnknownJob)
	case j.result == nil:
		return Result{}, fmt.Errorf("job %d is %s, not done", id, j.snap.State)
	}
	return *j.result, nil
}

// Wait returns when no job is queued or running, or when ctx ends.
func (q *Queue) Wait(ctx context.Context) error {
	for {
		q.mu.Lock()
		busy := q.active > 0
		for _, id := range q.order {
			if q.jobs[id].snap.State == StageQueued {
				busy = true
			}
		}
		changed := q.changed
		q.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close cancels all work, waits for it to stop, and delivers the last
// events. The engine stays open.
func (q *Queue) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	for _, id := range q.order {
		q.cancelLocked(q.jobs[id], false)
	}
	q.mu.Unlock()
	_ = q.Wait(context.Background())
	q.cancel()
	q.wg.Wait()
	// Every subscriber still subscribed hears the last events before Close
	// returns; one that unsubscribed is not waited for.
	q.subMu.Lock()
	subs := slices.Collect(maps.Values(q.subs))
	q.subMu.Unlock()
	for _, sub := range subs {
		<-sub.exited
	}
}

func (j *queued) snapshot() Job {
	s := j.snap
	s.Outputs = slices.Clone(s.Outputs)
	s.Warnings = slices.Clone(s.Warnings)
	s.WarningTexts = slices.Clone(s.WarningTexts)
	return s
}

// schedule starts queued jobs, oldest first, while there is room.
func (q *Queue) schedule() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range q.order {
		if q.active >= q.opts.MaxActive || q.closed {
			return
		}
		j := q.jobs[id]
		if j.snap.State != StageQueued {
			continue
		}
		q.startLocked(j)
	}
}

func (q *Queue) startLocked(j *queued) {
	ctx, cancel := context.WithCancel(q.ctx)
	j.cancel, j.stopped = cancel, false
	j.run++
	run := j.run
	j.snap.State = StageStaging // left the queue; the runner reports the real stage
	j.snap.Progress.Stage = StageStaging
	j.snap.Started = time.Now()
	q.active++
	q.emitLocked(j, EventUpdated, true)
	req, id, sid := j.snap.Request, j.snap.ID, j.storeID

	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		rep := newReporter(id, req.Path, q.e.chunkSeconds(req), func(p Progress) { q.progress(id, run, p) })
		rep.stageChanged = func(s Stage) {
			if !s.Finished() {
				q.recordState(sid, s, "")
			}
		}
		res, err := q.e.transcribe(ctx, req, rep)
		cancel()
		q.finished(id, run, res, err)
		q.schedule()
	}()
}

// progress takes a runner's report.
func (q *Queue) progress(id JobID, run int, p Progress) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	if !ok || j.run != run || j.snap.State.Finished() {
		return
	}
	if p.Stage.Finished() {
		return // finished() records the end with the result or error
	}
	if p.Stage == StageQueued { // a note before the first step: the job has left the queue
		p.Stage = j.snap.State
	}
	stageChanged := j.snap.State != p.Stage
	j.snap.State = p.Stage
	j.snap.Progress = p
	q.emitLocked(j, EventUpdated, stageChanged || p.Note != "")
}

// finished records a runner's end.
// The store is written before the end is shown (and Wait can return), so
// that whoever reads the store after Wait sees the job's end, and a job
// that ended is never taken up again at the next start.
func (q *Queue) finished(id JobID, run int, res Result, err error) {
	q.mu.Lock()
	j, ok := q.jobs[id]
	if !ok || j.run != run {
		q.active--
		q.broadcastLocked()
		q.mu.Unlock()
		return
	}
	j.cancel = nil
	var state Stage
	var msg, code string
	var text apperr.Text
	switch {
	case err == nil:
		state = StageDone
		j.result = &res
		j.snap.Outputs = res.Outputs
		j.snap.HistoryID = res.HistoryID
		j.snap.Reused = res.Reused
		j.snap.Warnings = res.Warnings
		j.snap.WarningTexts = res.WarningTexts
		j.snap.Diarization, j.snap.DiarizationError = res.Diarization, res.DiarizationError
		j.snap.Progress.Fraction, j.snap.Progress.ETASeconds = 1, 0
		j.snap.Progress.ChunksDone = max(j.snap.Progress.ChunksDone, j.snap.Progress.ChunksTotal)
		j.snap.Progress.Reused = res.Reused
	case j.stopped && errors.Is(err, context.Canceled):
		text = apperr.Textf("cancelled")
		state, msg, code = StageCancelled, text.Text, string(apperr.CodeCanceled)
	default:
		text = ReasonText(err)
		state, msg, code = StageFailed, text.Text, string(apperr.CodeOf(err))
		if code == string(apperr.CodeCanceled) { // given up on below, not by the user
			text = apperr.Textf("the work on this file was interrupted before it finished (a connection closed or was cancelled): retry it")
			msg = text.Text
			code = string(apperr.CodeServer)
		}
		var exists *OutputExistsError
		if errors.As(err, &exists) {
			j.snap.ExistingOutputs = exists.Paths
		}
	}
	sid, record := j.storeID, state != StageCancelled || j.byUser
	q.mu.Unlock()

	if s := q.e.store; s != nil && sid != 0 && record {
		u := store.JobUpdate{State: string(state), Error: &msg, TranscriptID: res.HistoryID, Outputs: res.Outputs}
		_ = s.UpdateJob(context.Background(), sid, u)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	q.active--
	if cur, ok := q.jobs[id]; ok && cur == j && j.run == run {
		if text.Key != "" {
			j.snap.ErrorText = &text
		}
		q.finishLocked(j, state, msg, code)
		return
	}
	q.broadcastLocked() // removed meanwhile
}

func (q *Queue) finishLocked(j *queued, state Stage, msg, code string) {
	j.snap.State = state
	j.snap.Progress.Stage = state
	j.snap.Error, j.snap.ErrorCode = msg, code
	j.snap.Finished = time.Now()
	if state == StageCancelled && j.byUser && j.storeID != 0 && j.cancel == nil && j.snap.Started.IsZero() {
		// Cancelled before it ran: no runner will record it.
		q.unrecorded = append(q.unrecorded, j.storeID)
	}
	q.emitLocked(j, EventUpdated, true)
	q.broadcastLocked()
}

func (q *Queue) recordState(sid int64, s Stage, msg string) {
	if st := q.e.store; st != nil && sid != 0 {
		_ = st.UpdateJob(context.Background(), sid, store.JobUpdate{State: string(s), Error: &msg})
	}
}

func (q *Queue) broadcastLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// emitLocked queues an event for j. Progress within one state is held back
// to one event per ProgressInterval (the latest wins, sent by flushLoop);
// anything else goes at once.
func (q *Queue) emitLocked(j *queued, kind EventKind, urgent bool) {
	now := time.Now()
	if !urgent && kind == EventUpdated && j.lastSent == j.snap.State && now.Sub(j.lastEmit) < q.opts.ProgressInterval {
		j.pending = true
		return
	}
	j.lastEmit, j.lastSent, j.pending = now, j.snap.State, false
	q.push(Event{Kind: kind, Job: j.snapshot()})
}

func (q *Queue) push(ev Event) {
	q.evMu.Lock()
	q.events = append(q.events, ev)
	q.evMu.Unlock()
	select {
	case q.evReady <- struct{}{}:
	default:
	}
}

// deliver hands events to the subscribers' mailboxes, in order, until
// Close; it never waits for a subscriber.
func (q *Queue) deliver() {
	defer q.wg.Done()
	for {
		q.evMu.Lock()
		batch := q.events
		q.events = nil
		q.evMu.Unlock()
		if len(batch) == 0 {
			select {
			case <-q.evReady:
				continue
			case <-q.ctx.Done():
				q.evMu.Lock()
				batch = q.events
				q.events = nil
				q.evMu.Unlock()
				if len(batch) == 0 {
					q.subMu.Lock()
					close(q.delivered)
					q.subMu.Unlock()
					return
				}
			}
		}
		q.subMu.Lock()
		for _, id := range slices.Sorted(maps.Keys(q.subs)) {
			q.subs[id].post(batch)
		}
		q.subMu.Unlock()
	}
}

// flushLoop sends progress held back by emitLocked.
func (q *Queue) flushLoop() {
	defer q.wg.Done()
	t := time.NewTicker(q.opts.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-t.C:
		}
		q.mu.Lock()
		for _, id := range q.order {
			if j := q.jobs[id]; j.pending {
				q.emitLocked(j, EventUpdated, true)
			}
		}
		q.mu.Unlock()
	}
}

// Reason is err as one sentence for the user, without the file name the
// engine puts in front (a list of jobs already shows it).
func Reason(err error) string {
	var fe *fileError
	if errors.As(err, &fe) {
		err = fe.err
	}
	return oneLine(apperr.Message(err))
}

// ReasonText is Reason with the sentence's catalog key, for the UI.
func ReasonText(err error) apperr.Text {
	var fe *fileError
	if errors.As(err, &fe) {
		err = fe.err
	}
	t := apperr.Localize(err)
	t.Text = oneLine(t.Text)
	return t
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
