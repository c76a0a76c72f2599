package inference

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock lets limiter tests move time by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestLimiter(cfg LimiterConfig) (*Limiter, *fakeClock) {
	l := NewLimiter(cfg)
	c := &fakeClock{t: time.Unix(1000, 0)}
	l.now = c.now
	return l, c
}

func TestLimiterAIMD(t *testing.T) {
	l, clock := newTestLimiter(LimiterConfig{Max: 8, Min: 1, Hold: 5 * time.Second})
	ctx := context.Background()
	step := func(o Outcome) {
		t.Helper()
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		l.Release(o)
	}
	if st := l.Stats(); st.Limit != 8 || st.Max != 8 {
		t.Fatalf("starts at %+v, want the max", st)
	}
	step(OutcomeOverload)
	if l.Stats().Limit != 4 {
		t.Fatalf("after overload: %+v", l.Stats())
	}
	// More overloads within the hold are the same signal.
	step(OutcomeOverload)
	step(OutcomeOverload)
	if st := l.Stats(); st.Limit != 4 || st.Decreases != 1 {
		t.Fatalf("overloads within the hold: %+v", st)
	}
	// Successes within the hold do not raise it either.
	for range 10 {
		step(OutcomeSuccess)
	}
	if l.Stats().Limit != 4 {
		t.Fatalf("raised within the hold: %+v", l.Stats())
	}
	clock.add(6 * time.Second)
	// After the hold: +1 per round of `limit` successes.
	for range 4 {
		step(OutcomeSuccess)
	}
	if l.Stats().Limit != 5 {
		t.Fatalf("after one round of successes: %+v, want 5", l.Stats())
	}
	for range 100 {
		step(OutcomeSuccess)
	}
	if l.Stats().Limit != 8 {
		t.Fatalf("never above max: %+v", l.Stats())
	}
	// Repeated overloads, each after a hold, halve down to the floor.
	for range 5 {
		step(OutcomeOverload)
		clock.add(6 * time.Second)
	}
	if st := l.Stats(); st.Limit != 1 || st.Decreases != 6 {
		t.Fatalf("floor: %+v", st)
	}
	step(OutcomeOther)
	if l.Stats().Limit != 1 {
		t.Fatal("a neutral outcome moved the limit")
	}
}

func TestLimiterBoundsInFlight(t *testing.T) {
	l := NewLimiter(LimiterConfig{Max: 3})
	ctx := context.Background()
	for range 3 {
		if err := l.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth waits until a slot is released.
	got := make(chan error, 1)
	go func() { got <- l.Acquire(ctx) }()
	select {
	case <-got:
		t.Fatal("a fourth request got a slot with three in flight")
	case <-time.After(50 * time.Millisecond):
	}
	l.Release(OutcomeSuccess)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("the waiter did not get the released slot")
	}
	// A waiter gives up with its context.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if err := l.Acquire(cctx); err != context.DeadlineExceeded {
		t.Fatalf("Acquire past its deadline: %v", err)
	}
	if st := l.Stats(); st.InFlight != 3 {
		t.Fatalf("in flight %d, want 3", st.InFlight)
	}
	// Lowering the limit below what is in flight lets none start until
	// enough finish.
	l.Release(OutcomeOverload) // limit 1, 2 in flight
	if err := acquireWithin(l, 30*time.Millisecond); err == nil {
		t.Fatal("started one with the limit below the requests in flight")
	}
	l.Release(OutcomeOther)
	l.Release(OutcomeOther)
	if err := acquireWithin(l, time.Second); err != nil {
		t.Fatal(err)
	}
}

func acquireWithin(l *Limiter, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return l.Acquire(ctx)
}

func TestLimiterConcurrentUse(t *testing.T) {
	l := NewLimiter(LimiterConfig{Max: 4, Hold: time.Millisecond})
	var mu sync.Mutex
	inFlight, peak := 0, 0
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			for k := range 20 {
				if err := l.Acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				mu.Unlock()
				time.Sleep(100 * time.Microsecond)
				mu.Lock()
				inFlight--
				mu.Unlock()
				o := OutcomeSuccess
				if (i+k)%13 == 0 {
					o = OutcomeOverload
				}
				l.Release(o)
			}
		})
	}
	wg.Wait()
	if peak > 4 {
		t.Errorf("peak in flight %d with max 4", peak)
	}
	if st := l.Stats(); st.InFlight != 0 || st.Limit < 1 || st.Limit > 4 {
		t.Errorf("after: %+v", st)
	}
}

func TestLimiterQueueSignal(t *testing.T) {
	l, clock := newTestLimiter(LimiterConfig{Max: 8, Hold: time.Second, QueueFactor: 2, QueueFloor: 50 * time.Millisecond})
	ms := time.Millisecond
	for _, tt := range []struct {
		queue time.Duration
		lower bool
	}{
		{10 * ms, false},  // the baseline
		{15 * ms, false},  // noise
		{40 * ms, false},  // above twice the baseline but under the floor
		{120 * ms, true},  // grew, above the floor and twice the baseline
		{200 * ms, false}, // within the hold
		{80 * ms, false},  // shrinking
	} {
		if got := l.ObserveQueue(tt.queue); got != tt.lower {
			t.Errorf("queue %v: lowered %v, want %v (%+v)", tt.queue, got, tt.lower, l.Stats())
		}
	}
	if l.Stats().Limit != 4 {
		t.Fatalf("limit %d, want 4", l.Stats().Limit)
	}
	clock.add(2 * time.Second)
	if !l.ObserveQueue(300 * time.Millisecond) {
		t.Error("a queue still growing after the hold did not lower the limit")
	}
	if l.ObserveQueue(0) {
		t.Error("no data counted as overload")
	}
}

func TestLimiterSetMax(t *testing.T) {
	l := NewLimiter(LimiterConfig{Max: 8})
	l.SetMax(16)
	if st := l.Stats(); st.Limit != 16 || st.Max != 16 {
		t.Errorf("raised at the ceiling: %+v", st)
	}
	l.SetMax(2)
	if st := l.Stats(); st.Limit != 2 {
		t.Errorf("lowered: %+v", st)
	}
	l2 := NewLimiter(LimiterConfig{})
	if st := l2.Stats(); st.Max != 8 || st.Limit != 8 {
		t.Errorf("defaults %+v", st)
	}
}
