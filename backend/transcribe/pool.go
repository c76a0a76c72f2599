package transcribe

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
)

// pool bounds what all files send to one server: slots are requests in
// flight (what Triton's batcher sees), ahead are chunks decoded and not yet
// answered, so decoding runs ahead of the server by at most one pool's
// worth and memory stays bounded however many files are queued. Both hand
// a freed place to the oldest job waiting, so files finish one after
// another, the later ones only filling gaps, rather than all at the end.
//
// lim is the same bound as seen by the server: Recognize takes one of its
// places for each attempt, and it lowers the requests in flight below the
// pool's size for a while when the server says it is overloaded or its
// queue grows (see inference.Limiter), then raises them back.
//
// Speaker embeddings have places of their own (spk, spkLim, and spkAhead
// for chunks whose speech is known and whose embeddings are not), as many
// as the speech's: Triton batches each model on its own, so an embedding
// waiting in the speaker model's queue takes no room from a speech batch,
// and diarization overlaps transcription instead of halving it.
type pool struct {
	slots    *prioSem
	ahead    *prioSem
	lim      *inference.Limiter
	spk      *prioSem
	spkLim   *inference.Limiter
	spkAhead *prioSem

	mu       sync.Mutex
	watchers map[string]*watcher // model name -> its queue watch
}

// watcher polls one model's queue time for lim while jobs use it.
type watcher struct {
	users int
	stop  context.CancelFunc
}

// queueWatchEvery is how often a pool in use reads the server's queue time.
const queueWatchEvery = 5 * time.Second

func newPool(n int) *pool {
	return &pool{slots: newPrioSem(n), ahead: newPrioSem(2 * n),
		lim: inference.NewLimiter(inference.LimiterConfig{Max: n}), watchers: map[string]*watcher{},
		spk: newPrioSem(n), spkLim: inference.NewLimiter(inference.LimiterConfig{Max: n}), spkAhead: newPrioSem(2 * n)}
}

// queueWatcher is a model whose server reports its queue time:
// *liveModel, *inference.Model.
type queueWatcher interface {
	WatchQueue(ctx context.Context, lim *inference.Limiter, every time.Duration)
}

// watch keeps m's queue time watched while the caller sends chunks; the
// returned func ends the caller's use. One watch runs per model however
// many jobs use it. Models that cannot be watched (tests' fakes) are not.
func (p *pool) watch(m Recognizer, name string) func() {
	im, ok := m.(queueWatcher)
	if !ok {
		return func() {}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	w, ok := p.watchers[name]
	if !ok {
		ctx, cancel := context.WithCancel(context.Background())
		w = &watcher{stop: cancel}
		p.watchers[name] = w
		go im.WatchQueue(ctx, p.lim, queueWatchEvery)
	}
	w.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if w.users--; w.users == 0 {
				w.stop()
				if p.watchers[name] == w {
					delete(p.watchers, name)
				}
			}
		})
	}
}

// stopWatching ends every watch (the engine is closing).
func (p *pool) stopWatching() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, w := range p.watchers {
		w.stop()
		delete(p.watchers, name)
	}
}

// prioSem is a counting semaphore whose waiters are served lowest
// priority value first (then first come).
type prioSem struct {
	mu      sync.Mutex
	free    int
	seq     uint64
	waiters waiterHeap
}

type waiter struct {
	prio  int64
	seq   uint64
	ready chan struct{}
	index int // in the heap; -1 once granted
}

func newPrioSem(n int) *prioSem { return &prioSem{free: n} }

// acquire takes a place, waiting behind waiters of lower prio; false when
// ctx ended first.
func (s *prioSem) acquire(ctx context.Context, prio int64) bool {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return true
	}
	w := &waiter{prio: prio, seq: s.seq, ready: make(chan struct{})}
	s.seq++
	heap.Push(&s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
		s.mu.Lock()
		if w.index >= 0 {
			heap.Remove(&s.waiters, w.index)
			s.mu.Unlock()
			return false
		}
		s.mu.Unlock()
		s.release() // granted just as ctx ended: pass it on
		return false
	}
}

// release frees a place, handing it straight to the first waiter.
func (s *prioSem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiters.Len() > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		close(w.ready)
		return
	}
	s.free++
}

type waiterHeap []*waiter

func (h waiterHeap) Len() int { return len(h) }
func (h waiterHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}
