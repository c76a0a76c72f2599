package tritontest

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"

	"google.golang.org/grpc/peer"
)

// Fault is what the server does to one inference request.
type Fault int

const (
	FaultNone        Fault = iota // the request runs
	FaultUnavailable              // answered UNAVAILABLE (Options.FailRate)
	FaultDrop                     // its connection is closed mid-call (Options.DropRate)
	FaultCanceled                 // answered CANCELLED (Options.CancelRate)
)

func faultRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x7472746e)) }

// pickFault maps one uniform draw to a fault: [0, fail) fails, the next
// drop-wide stretch drops, the next cancel-wide one is cancelled, the
// rest runs. With DropRate 0 the sequence of failures is the one FailRate
// alone gives.
func pickFault(u, failRate, dropRate, cancelRate float64) Fault {
	switch {
	case u < failRate:
		return FaultUnavailable
	case u < failRate+dropRate:
		return FaultDrop
	case u < failRate+dropRate+cancelRate:
		return FaultCanceled
	}
	return FaultNone
}

// FaultPlan returns the faults a server with these options deals to its
// first n inference requests, in order of arrival: tests compute from it
// exactly how many attempts a client must make.
func FaultPlan(seed int64, failRate, dropRate float64, n int) []Fault {
	failRate = min(max(failRate, 0), 1)
	dropRate = min(max(dropRate, 0), 1-failRate)
	rng := faultRand(uint64(seed))
	out := make([]Fault, n)
	if failRate <= 0 && dropRate <= 0 {
		return out
	}
	for i := range out {
		out[i] = pickFault(rng.Float64(), failRate, dropRate, 0)
	}
	return out
}

// connTracker remembers the connections a server accepted, so that it can
// break them on purpose.
type connTracker struct {
	mu    sync.Mutex
	conns map[string]net.Conn // by remote address
}

func newConnTracker() *connTracker { return &connTracker{conns: map[string]net.Conn{}} }

func (t *connTracker) wrap(lis net.Listener) net.Listener {
	return &trackingListener{Listener: lis, t: t}
}

// closePeer closes the connection a call arrived on.
func (t *connTracker) closePeer(ctx context.Context) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return
	}
	t.mu.Lock()
	c := t.conns[p.Addr.String()]
	delete(t.conns, p.Addr.String())
	t.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (t *connTracker) closeAll() int {
	t.mu.Lock()
	conns := t.conns
	t.conns = map[string]net.Conn{}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

type trackingListener struct {
	net.Listener
	t *connTracker
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: l.t}
	l.t.mu.Lock()
	l.t.conns[c.RemoteAddr().String()] = tc
	l.t.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		if c.t.conns[c.RemoteAddr().String()] == c {
			delete(c.t.conns, c.RemoteAddr().String())
		}
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}
