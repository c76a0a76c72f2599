package live

import "sync"

// eventQueue hands events to Emit in order from its own goroutine, so a
// slow listener never holds up Feed or the sender. It is unbounded: the
// listener must keep up on average (the app batches level events).
type eventQueue struct {
	emit func(Event)
	mu   sync.Mutex
	q    []Event
	wake chan struct{}
	shut bool
	done chan struct{}
}

func newEventQueue(emit func(Event)) *eventQueue {
	e := &eventQueue{emit: emit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go e.loop()
	return e
}

func (e *eventQueue) push(ev Event) {
	if e.emit == nil {
		return
	}
	e.mu.Lock()
	if !e.shut {
		e.q = append(e.q, ev)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *eventQueue) loop() {
	defer close(e.done)
	for {
		e.mu.Lock()
		batch, shut := e.q, e.shut
		e.q = nil
		e.mu.Unlock()
		for _, ev := range batch {
			e.emit(ev)
		}
		if shut && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-e.wake
		}
	}
}

// close delivers what is queued and waits for it.
func (e *eventQueue) close() {
	e.mu.Lock()
	e.shut = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.done
}
