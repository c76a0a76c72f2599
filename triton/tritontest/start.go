package tritontest

import (
	"net"
	"time"
)

// TB is the part of testing.TB that Start needs; *testing.T and
// *testing.B satisfy it. Taking an interface keeps package testing out of
// programs that import this package.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Start serves a new Server for opts on 127.0.0.1 over real TCP and returns
// its address ("127.0.0.1:PORT"). The server stops when the test ends.
func Start(t TB, opts Options) string {
	t.Helper()
	_, addr := StartServer(t, opts)
	return addr
}

// StartServer is Start that also returns the Server.
func StartServer(t TB, opts Options) (*Server, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tritontest: listen: %v", err)
	}
	s := New(opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(lis) // nil after a stop; an accept error ends the test's calls anyway
	}()
	t.Cleanup(func() {
		s.StopWithin(time.Second)
		<-done
	})
	return s, lis.Addr().String()
}
