package transcribe

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// gated is the dtmf model holding the requests that carry the old
// authorization header until the test releases them, then doing with
// them what mode says: "answer", "fail" (as a gateway refusing a revoked
// token would) or "stall" (until the caller gives up).
type gated struct {
	tritontest.Model
	mode    string
	release chan struct{}
	held    atomic.Int32

	mu   sync.Mutex
	seen []string // the header of every request, in order of arrival
}

const oldToken, newToken = "Bearer old", "Bearer new"

func (g *gated) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := strings.Join(md.Get("authorization"), ",")
	g.mu.Lock()
	g.seen = append(g.seen, auth)
	g.mu.Unlock()
	if auth == oldToken {
		g.held.Add(1)
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch g.mode {
		case "fail":
			return nil, status.Error(codes.Unauthenticated, "the token was revoked")
		case "stall":
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	return g.Model.Execute(ctx, in, params)
}

func (g *gated) headers() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.seen)
}

// headerConnect dials with the authorization header *token holds at the
// time of dialling, as the app's Connect reads the keyring.
func headerConnect(token *atomic.Value) func(string) (*inference.Server, error) {
	return func(addr string) (*inference.Server, error) {
		return inference.ConnectConfig(inference.Config{Addresses: []string{addr},
			Headers: map[string]string{"authorization": token.Load().(string)},
			Retry:   inference.RetryPolicy{Delay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// A bound, not a wait: generous, as the race detector on two shared
	// cores can take many seconds to stage and decode a batch.
	for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// A header changed while a job is sending its chunks takes effect from
// the next chunk, without a restart and without failing the job, however
// the chunks already on the old connection end: answered there, refused
// there (sent again), or stuck there (called back after drainWait and
// sent again). The server's pool and limiter keep their accounts.
func TestReconnectMidJobSendsTheNewHeader(t *testing.T) {
	f := makeKeys(t, t.TempDir(), 1, 40)[0] // chunks of at most 5 s
	for _, tc := range []struct {
		mode   string
		resent int           // of the 2 chunks on the old connection
		drain  time.Duration // Engine.drainWait
	}{
		// Answered chunks come back on their own: a short drainWait
		// would call them back first on a loaded machine.
		{"answer", 0, time.Minute},
		{"fail", 2, 100 * time.Millisecond},
		{"stall", 2, 100 * time.Millisecond},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			g := &gated{Model: tritontest.DTMF(), mode: tc.mode, release: make(chan struct{})}
			addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{g}})
			var token atomic.Value
			token.Store(oldToken)
			e := openEngine(t, Config{Concurrency: 2, ChunkSeconds: 5, Connect: headerConnect(&token)})
			e.drainWait = tc.drain

			type outcome struct {
				res Result
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := e.Transcribe(context.Background(), Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}, nil)
				done <- outcome{res, err}
			}()
			// Both places of the pool hold a chunk on the old connection.
			waitUntil(t, "two chunks are on the old connection", func() bool { return g.held.Load() == 2 })
			token.Store(newToken)
			e.Reconnect()
			close(g.release)

			var out outcome
			select {
			case out = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the job did not finish after the reconnect")
			}
			if out.err != nil {
				t.Fatalf("the job failed: %v", out.err)
			}
			checkWords(t, out.res.Transcript, f)

			seen := g.headers()
			if len(seen) < 3 || seen[0] != oldToken || seen[1] != oldToken {
				t.Fatalf("headers seen %q: want the 2 old first", seen)
			}
			for i, h := range seen[2:] {
				if h != newToken {
					t.Fatalf("request %d after the reconnect carried %q", i+3, h)
				}
			}
			p := e.pool(addr)
			if st := p.lim.Stats(); st.InFlight != 0 || st.Max != 2 {
				t.Errorf("limiter %+v after the job, want nothing in flight", st)
			}
			p.slots.mu.Lock()
			slots := p.slots.free
			p.slots.mu.Unlock()
			p.ahead.mu.Lock()
			ahead := p.ahead.free
			p.ahead.mu.Unlock()
			if slots != 2 || ahead != 4 {
				t.Errorf("pool has %d slots and %d places ahead free after the job, want 2 and 4", slots, ahead)
			}
			e.mu.Lock()
			left := len(e.retired)
			e.mu.Unlock()
			if left != 0 {
				t.Errorf("%d retired connections still open after their last call", left)
			}

			// The next job starts on the new connection from its first request.
			before := len(g.headers())
			res, err := e.Transcribe(context.Background(), Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true, Force: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkWords(t, res.Transcript, f)
			chunks := len(g.headers()) - before
			for _, h := range g.headers()[before:] {
				if h != newToken {
					t.Fatalf("the next job sent %q", h)
				}
			}
			// Every chunk of the first job reached the server with the new
			// header but those answered on the old connection.
			if want := chunks - 2 + tc.resent; len(seen)-2 != want {
				t.Errorf("%d requests with the new header in the first job, want %d (%d chunks, %d resent)", len(seen)-2, want, chunks, tc.resent)
			}
		})
	}
}

// Changing TLS settings takes effect at Reconnect: before it the cached
// connection keeps its old TLS; after it, the next call dials with the
// new one. Here a client certificate whose key comes as PEM bytes (as the
// app's keyring gives it) is added for a server that requires one.
func TestReconnectUsesTheNewTLSSettings(t *testing.T) {
	cs, err := tritontest.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := tritontest.LoadServerTLS(cs.ServerCert, cs.ServerKey, cs.CA)
	if err != nil {
		t.Fatal(err)
	}
	addr := tritontest.Start(t, tritontest.Options{TLS: serverTLS})
	key, err := os.ReadFile(cs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	var tlsNow atomic.Pointer[inference.TLSConfig]
	tlsNow.Store(&inference.TLSConfig{CAFile: cs.CA})
	dials := 0
	e := openEngine(t, Config{ChunkSeconds: 5, Connect: func(addr string) (*inference.Server, error) {
		dials++ // under e.mu
		return inference.ConnectConfig(inference.Config{Addresses: []string{addr}, TLS: *tlsNow.Load()})
	}})
	ctx := context.Background()

	_, err = e.ServerStatus(ctx, addr)
	if apperr.CodeOf(err) != apperr.CodeTLS || !strings.Contains(apperr.Message(err), "requires a client certificate") {
		t.Fatalf("without a client certificate: %v", err)
	}
	tlsNow.Store(&inference.TLSConfig{CAFile: cs.CA, CertFile: cs.ClientCert, KeyPEM: key})
	if _, err := e.ServerStatus(ctx, addr); err == nil {
		t.Fatal("the cached connection took up new TLS settings by itself")
	}
	e.Reconnect()
	st, err := e.ServerStatus(ctx, addr)
	if err != nil || !st.TLS || !st.Live {
		t.Fatalf("after Reconnect: %+v, %v", st, err)
	}
	if dials != 2 {
		t.Errorf("dialled %d times, want 2 (once before, once after Reconnect)", dials)
	}
	src := filepath.Join(t.TempDir(), "k.wav")
	f := makeKeys(t, filepath.Dir(src), 1, 8)[0]
	res, err := e.Transcribe(ctx, Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkWords(t, res.Transcript, f)

	// Once the job's queue watch has let go, nothing uses the connection:
	// a Reconnect closes it at once.
	waitUntil(t, "the queue watch ends", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.conns[addr].users == 0
	})
	e.Reconnect()
	e.mu.Lock()
	n, r := len(e.conns), len(e.retired)
	e.mu.Unlock()
	if n != 0 || r != 0 {
		t.Errorf("after an idle Reconnect: %d current and %d retired connections", n, r)
	}
}
