package transcribe

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

func TestPrioSemServesTheOldestFirst(t *testing.T) {
	s := newPrioSem(1)
	ctx := context.Background()
	if !s.acquire(ctx, 5) {
		t.Fatal("free place not taken")
	}
	var mu sync.Mutex
	var order []int64
	var wg sync.WaitGroup
	for i, prio := range []int64{9, 3, 7, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.acquire(ctx, prio) {
				mu.Lock()
				order = append(order, prio)
				mu.Unlock()
				s.release()
			}
		}()
		waitWaiters(t, s, i+1) // queued in this order, before the next
	}
	// One waiter gives up: its place is not lost.
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := make(chan bool)
	go func() { gaveUp <- s.acquire(cctx, 1) }()
	waitWaiters(t, s, 5)
	cancel()
	if <-gaveUp {
		t.Fatal("a cancelled acquire succeeded")
	}
	s.release()
	wg.Wait()
	if len(order) != 4 || order[0] != 3 || order[1] != 3 || order[2] != 7 || order[3] != 9 {
		t.Fatalf("served %v, want 3 3 7 9", order)
	}
	if !s.acquire(ctx, 0) || s.acquire(contextDone(), 0) {
		t.Fatal("the place was lost or doubled")
	}
}

// waitWaiters waits until n acquires are queued on s.
func waitWaiters(t *testing.T, s *prioSem, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d acquires wait", n), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.waiters.Len() == n
	})
}

func contextDone() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
