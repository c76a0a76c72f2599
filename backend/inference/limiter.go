package inference

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limiter bounds the requests in flight to one server, and adapts the bound
// so that a shared server is not flooded: it halves when the server says it
// is overloaded (RESOURCE_EXHAUSTED, a full queue, an attempt past its
// deadline) or its queue time grows, holds there for a while, then grows by
// one per round of successes (additive increase, multiplicative decrease,
// as TCP does). One Limiter is shared by every job on a server.
//
// Pass it in Options.Limiter and Recognize takes a slot for each attempt
// (none while it waits to retry); or call Acquire and Release around
// requests of your own. Not both for the same request.
type Limiter struct {
	cfg LimiterConfig
	now func() time.Time

	mu        sync.Mutex
	limit     float64 // current bound; its floor is what Acquire enforces
	inFlight  int
	holdUntil time.Time
	decreases int
	baseline  time.Duration // lowest recent queue time per request
	lastQueue time.Duration
	wake      chan struct{} // closed and replaced when a slot may have opened
}

// LimiterConfig sets a Limiter's bounds and how it reacts.
type LimiterConfig struct {
	Max  int           // the most in flight, and where it starts; default 8
	Min  int           // the fewest it lowers to; default 1
	Hold time.Duration // after lowering, neither lower nor raise for this long; default 5 s
	// A queue time counts as overload when it grows past QueueFactor times
	// the lowest seen recently and is above QueueFloor. Defaults 2 and 50 ms.
	QueueFactor float64
	QueueFloor  time.Duration
}

// Outcome is how a request ended, as far as load is concerned.
type Outcome int

const (
	OutcomeSuccess  Outcome = iota // answered
	OutcomeOverload                // the server is overloaded: send less
	OutcomeOther                   // failed otherwise or cancelled: says nothing about load
)

// LimiterStats is a snapshot for progress displays and tests.
type LimiterStats struct {
	Limit     int // requests allowed in flight now
	Max       int
	InFlight  int
	Decreases int // how many times the limit was lowered
}

// NewLimiter returns a limiter that starts at cfg.Max.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Max <= 0 {
		cfg.Max = 8
	}
	if cfg.Min <= 0 {
		cfg.Min = 1
	}
	cfg.Min = min(cfg.Min, cfg.Max)
	if cfg.Hold <= 0 {
		cfg.Hold = 5 * time.Second
	}
	if cfg.QueueFactor <= 1 {
		cfg.QueueFactor = 2
	}
	if cfg.QueueFloor <= 0 {
		cfg.QueueFloor = 50 * time.Millisecond
	}
	return &Limiter{cfg: cfg, now: time.Now, limit: float64(cfg.Max), wake: make(chan struct{})}
}

// Acquire waits for a slot, or returns ctx's error if ctx ends first.
func (l *Limiter) Acquire(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		if l.inFlight < int(l.limit) {
			l.inFlight++
			l.mu.Unlock()
			return nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release returns a slot taken by Acquire, with how the request ended.
func (l *Limiter) Release(o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight > 0 {
		l.inFlight--
	}
	switch o {
	case OutcomeSuccess:
		if l.now().After(l.holdUntil) && l.limit < float64(l.cfg.Max) {
			l.limit = math.Min(float64(l.cfg.Max), l.limit+1/math.Floor(l.limit))
		}
	case OutcomeOverload:
		l.lowerLocked()
	}
	l.wakeLocked()
}

// ObserveQueue takes the server's average queue time per request over a
// recent interval (see Model.WatchQueue). It reports whether that lowered
// the limit.
func (l *Limiter) ObserveQueue(avg time.Duration) bool {
	if avg <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	base, grew := l.baseline, avg > l.lastQueue
	l.lastQueue = avg
	switch {
	case l.baseline == 0 || avg < l.baseline:
		l.baseline = avg
	default:
		// Drift up slowly, so a server that stays busier becomes the new
		// normal instead of holding the limit down for good.
		l.baseline += (avg - l.baseline) / 16
	}
	if base > 0 && grew && avg > l.cfg.QueueFloor && float64(avg) > l.cfg.QueueFactor*float64(base) {
		return l.lowerLocked()
	}
	return false
}

func (l *Limiter) lowerLocked() bool {
	now := l.now()
	if now.Before(l.holdUntil) {
		return false // one decrease per hold: a burst of errors is one signal
	}
	l.limit = math.Max(float64(l.cfg.Min), math.Floor(l.limit/2))
	l.holdUntil = now.Add(l.cfg.Hold)
	l.decreases++
	return true
}

func (l *Limiter) wakeLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// SetMax changes the ceiling (e.g. the user changed the concurrency); the
// current limit is clamped to it, or raised to it when it was at the old
// ceiling.
func (l *Limiter) SetMax(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = max(n, 1)
	atCeiling := int(l.limit) >= l.cfg.Max
	l.cfg.Max = n
	l.cfg.Min = min(l.cfg.Min, n)
	if atCeiling || l.limit > float64(n) {
		l.limit = float64(n)
	}
	l.wakeLocked()
}

// Stats returns the limiter's state now.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimiterStats{Limit: int(l.limit), Max: l.cfg.Max, InFlight: l.inFlight, Decreases: l.decreases}
}
