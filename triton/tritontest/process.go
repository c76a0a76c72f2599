package tritontest

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Process is a test server that can be stopped and started again on the
// same address, as a Triton that restarts: each start serves a fresh
// Server (statistics from zero, ReadyAfter counted anew).
type Process struct {
	addr string
	opts Options

	mu   sync.Mutex
	srv  *Server
	done chan struct{} // closed when the running Serve returns; nil when stopped
}

// StartProcess starts a Process on a free port of 127.0.0.1; it is closed
// when the test ends.
func StartProcess(t TB, opts Options) *Process {
	t.Helper()
	p, err := ListenProcess("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("tritontest: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// ListenProcess listens on addr (port 0 picks one, kept for restarts) and
// serves a Server for opts.
func ListenProcess(addr string, opts Options) (*Process, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	p := &Process{addr: lis.Addr().String(), opts: opts}
	p.serve(lis)
	return p, nil
}

// Addr is the address the process listens on, "127.0.0.1:PORT".
func (p *Process) Addr() string { return p.addr }

// Server is the running server, or the last one if stopped.
func (p *Process) Server() *Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.srv
}

// Running reports whether the process is serving.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done != nil
}

func (p *Process) serve(lis net.Listener) {
	srv := New(p.opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	p.mu.Lock()
	p.srv, p.done = srv, done
	p.mu.Unlock()
}

// Stop kills the server as a crash would: the listener and every
// connection close at once, calls in flight fail. Stopping a stopped
// process does nothing.
func (p *Process) Stop() {
	p.mu.Lock()
	srv, done := p.srv, p.done
	p.done = nil
	p.mu.Unlock()
	if done == nil {
		return
	}
	srv.Stop()
	<-done
}

// Start serves a new Server on the same address. The port may still be
// held for a moment after Stop, so it tries for up to a second.
func (p *Process) Start() error {
	if p.Running() {
		return nil
	}
	var err error
	for wait := 10 * time.Millisecond; ; wait *= 2 {
		var lis net.Listener
		if lis, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(lis)
			return nil
		}
		if wait > 500*time.Millisecond {
			return fmt.Errorf("tritontest: listen again on %s: %w", p.addr, err)
		}
		time.Sleep(wait)
	}
}

// Restart stops the server, stays down for down, and starts it again.
func (p *Process) Restart(down time.Duration) error {
	p.Stop()
	time.Sleep(down)
	return p.Start()
}
