package triton_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

func dial(t *testing.T, cfg triton.Config) *triton.Client {
	t.Helper()
	c, err := triton.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func infer(t *testing.T, c *triton.Client) error {
	t.Helper()
	_, err := c.Infer(ctx(t), triton.InferRequest{Model: "dtmf", Inputs: []triton.Input{audioInput(make([]float32, 1600))}})
	return err
}

func readPEM(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func certs(t *testing.T) tritontest.Certs {
	t.Helper()
	c, err := tritontest.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serverTLS(t *testing.T, c tritontest.Certs, mutual bool) tritontest.Options {
	t.Helper()
	clientCA := ""
	if mutual {
		clientCA = c.CA
	}
	tc, err := tritontest.LoadServerTLS(c.ServerCert, c.ServerKey, clientCA)
	if err != nil {
		t.Fatal(err)
	}
	return tritontest.Options{TLS: tc}
}

// TestTLS covers TLS and mTLS round trips and how each mismatch is named,
// with certificates made for the test.
func TestTLS(t *testing.T) {
	cs := certs(t)
	tlsAddr := tritontest.Start(t, serverTLS(t, cs, false))
	mtlsAddr := tritontest.Start(t, serverTLS(t, cs, true))
	plainAddr := tritontest.Start(t, tritontest.Options{})
	_, port, _ := net.SplitHostPort(tlsAddr)

	tests := []struct {
		name    string
		addr    string
		tls     *triton.TLS
		code    triton.Code
		problem triton.Problem
	}{
		{"TLS with the CA", tlsAddr, &triton.TLS{CAFile: cs.CA}, "", ""},
		{"TLS by host name", "localhost:" + port, &triton.TLS{CAFile: cs.CA}, "", ""},
		{"mTLS", mtlsAddr, &triton.TLS{CAFile: cs.CA, CertFile: cs.ClientCert, KeyFile: cs.ClientKey}, "", ""},
		{"mTLS, key as PEM", mtlsAddr, &triton.TLS{CAFile: cs.CA, CertFile: cs.ClientCert, KeyPEM: readPEM(t, cs.ClientKey)}, "", ""},
		{"mTLS, both as PEM", mtlsAddr, &triton.TLS{CAFile: cs.CA, CertPEM: readPEM(t, cs.ClientCert), KeyPEM: readPEM(t, cs.ClientKey)}, "", ""},
		{"wrong CA", tlsAddr, &triton.TLS{CAFile: cs.OtherCA}, triton.CodeTLS, triton.ProblemUnknownAuthority},
		{"system roots do not know a private CA", tlsAddr, &triton.TLS{}, triton.CodeTLS, triton.ProblemUnknownAuthority},
		{"wrong name", tlsAddr, &triton.TLS{CAFile: cs.CA, ServerName: "triton.example"}, triton.CodeTLS, triton.ProblemNameMismatch},
		{"name override", tlsAddr, &triton.TLS{CAFile: cs.CA, ServerName: "localhost"}, "", ""},
		{"mTLS without a client certificate", mtlsAddr, &triton.TLS{CAFile: cs.CA}, triton.CodeTLS, triton.ProblemClientCertRequired},
		{"plaintext client, TLS server", tlsAddr, nil, triton.CodeTLS, triton.ProblemServerWantsTLS},
		{"TLS client, plaintext server", plainAddr, &triton.TLS{CAFile: cs.CA}, triton.CodeTLS, triton.ProblemServerPlaintext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, triton.Config{Addr: tt.addr, TLS: tt.tls})
			err := infer(t, c)
			var te *triton.Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("round trip failed: %v", err)
			case tt.code == "":
				return
			case !errors.As(err, &te) || te.Code != tt.code || te.Problem != tt.problem:
				t.Fatalf("err = %v (problem %q), want %s/%s", err, problemOf(err), tt.code, tt.problem)
			case te.Temporary():
				t.Error("a TLS mismatch is not temporary: retrying cannot fix it")
			}
		})
	}
}

func problemOf(err error) triton.Problem {
	var te *triton.Error
	if errors.As(err, &te) {
		return te.Problem
	}
	return ""
}

func TestTLSFilesCheckedAtNew(t *testing.T) {
	cs := certs(t)
	for name, tc := range map[string]*triton.TLS{
		"missing CA":       {CAFile: cs.CA + ".missing"},
		"CA not PEM":       {CAFile: cs.ServerKey + "x"},
		"cert without key": {CertFile: cs.ClientCert},
		"key mismatch":     {CertFile: cs.ClientCert, KeyFile: cs.ServerKey},
		"PEM key mismatch": {CertFile: cs.ClientCert, KeyPEM: readPEM(t, cs.ServerKey)},
		"PEM key, no cert": {KeyPEM: readPEM(t, cs.ClientKey)},
		"PEM not a key":    {CertFile: cs.ClientCert, KeyPEM: readPEM(t, cs.ClientCert)},
	} {
		_, err := triton.New(triton.Config{Addr: "127.0.0.1:1", TLS: tc})
		var ce *triton.ConfigError
		if !errors.As(err, &ce) || ce.Setting != "tls" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestHTTPPortIsNamed: pointing the client at an HTTP/1.1 server (Triton's
// port 8000) is told apart from a server that is down.
func TestHTTPPortIsNamed(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	err = infer(t, dial(t, triton.Config{Addr: lis.Addr().String()}))
	if triton.CodeOf(err) != triton.CodeUnreachable || problemOf(err) != triton.ProblemNotGRPC {
		t.Fatalf("err = %v", err)
	}
}

// TestHeadersReachTheServer: extra metadata goes with unary calls.
func TestHeadersReachTheServer(t *testing.T) {
	var mu sync.Mutex
	var got metadata.MD
	addr := tritontest.Start(t, tritontest.Options{Inspect: func(ctx context.Context, _ *pb.ModelInferRequest) {
		mu.Lock()
		defer mu.Unlock()
		got, _ = metadata.FromIncomingContext(ctx)
	}})
	c := dial(t, triton.Config{Addr: addr, Headers: map[string]string{"Authorization": "Bearer t0ken", "x-team": "speech"}})
	if err := infer(t, c); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if a := got.Get("authorization"); len(a) != 1 || a[0] != "Bearer t0ken" {
		t.Errorf("authorization = %v (metadata %v)", a, got)
	}
	if a := got.Get("x-team"); len(a) != 1 || a[0] != "speech" {
		t.Errorf("x-team = %v", a)
	}
	for _, bad := range []map[string]string{{"grpc-timeout": "1"}, {"bad key": "v"}, {"k": "line\nbreak"}, {"": "v"}, {"content-type": "x"}} {
		_, err := triton.New(triton.Config{Addr: addr, Headers: bad})
		var ce *triton.ConfigError
		if !errors.As(err, &ce) || ce.Setting != "header" {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestRoundRobinOverReplicas: two servers behind one client both get
// requests, and one going down leaves the other serving.
func TestRoundRobinOverReplicas(t *testing.T) {
	a := tritontest.StartProcess(t, tritontest.Options{})
	b := tritontest.StartProcess(t, tritontest.Options{})
	c := dial(t, triton.Config{Addrs: []string{a.Addr(), b.Addr()}})
	if c.Addr() != a.Addr()+","+b.Addr() {
		t.Errorf("Addr = %q", c.Addr())
	}
	// The first calls may all go to whichever connects first; keep going
	// until both have been used, then check the balance over a round.
	for i := 0; i < 200 && (count(t, a) == 0 || count(t, b) == 0); i++ {
		if err := infer(t, c); err != nil {
			t.Fatal(err)
		}
	}
	na, nb := count(t, a), count(t, b)
	if na == 0 || nb == 0 {
		t.Fatalf("requests per replica: %d and %d", na, nb)
	}
	for range 20 {
		if err := infer(t, c); err != nil {
			t.Fatal(err)
		}
	}
	if da, db := count(t, a)-na, count(t, b)-nb; da != 10 || db != 10 {
		t.Errorf("20 requests split %d/%d, want 10/10", da, db)
	}
	b.Stop()
	for i := range 10 {
		if err := infer(t, c); err != nil && i > 0 {
			// The call in flight when b died may fail; after that, a serves.
			t.Fatalf("request %d with one replica down: %v", i, err)
		}
	}
}

func count(t *testing.T, p *tritontest.Process) uint64 {
	t.Helper()
	c := dial(t, triton.Config{Addr: p.Addr()})
	st, err := c.ModelStatistics(ctx(t), "dtmf", "")
	if err != nil {
		t.Fatal(err)
	}
	return st[0].GetInferenceCount()
}

func TestDNSTarget(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	_, port, _ := net.SplitHostPort(addr)
	c := dial(t, triton.Config{Addr: "dns:///localhost:" + port})
	if err := infer(t, c); err != nil {
		t.Fatal(err)
	}
}

func TestAddresses(t *testing.T) {
	for _, tt := range []struct {
		cfg  triton.Config
		want string // Addr(), or "" for a ConfigError
	}{
		{triton.Config{Addr: "gpu-box"}, "gpu-box:8001"},
		{triton.Config{Addr: " 10.0.0.5:9001 "}, "10.0.0.5:9001"},
		{triton.Config{Addr: "::1"}, "[::1]:8001"},
		{triton.Config{Addr: "[::1]:8001"}, "[::1]:8001"},
		{triton.Config{Addr: "a:1", Addrs: []string{"b:2", "a:1", ""}}, "a:1,b:2"},
		{triton.Config{Addr: "dns:///triton.lan:8001"}, "dns:///triton.lan:8001"},
		{triton.Config{}, ""},
		{triton.Config{Addr: "a:port"}, ""},
		{triton.Config{Addr: "a:70000"}, ""},
		{triton.Config{Addr: ":8001"}, ""},
		{triton.Config{Addr: "dns:///a:1", Addrs: []string{"b:2"}}, ""},
		{triton.Config{Addr: "unix:///tmp/sock"}, ""},
	} {
		c, err := triton.New(tt.cfg)
		if tt.want == "" {
			var ce *triton.ConfigError
			if !errors.As(err, &ce) || ce.Setting != "address" {
				t.Errorf("%+v: err %v, want an address ConfigError", tt.cfg, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tt.cfg, err)
			continue
		}
		if c.Addr() != tt.want {
			t.Errorf("%+v: Addr %q, want %q", tt.cfg, c.Addr(), tt.want)
		}
		c.Close()
	}
}

// TestTooLarge: a message over a size limit is its own code, not retried.
func TestTooLarge(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	c := dial(t, triton.Config{Addr: addr, MaxMessageBytes: 1 << 10})
	err := infer(t, c) // 6.4 kB of audio
	var te *triton.Error
	if !errors.As(err, &te) || te.Code != triton.CodeTooLarge || te.Temporary() || !strings.Contains(te.Message, "larger than max") {
		t.Fatalf("err = %v", err)
	}
}

// TestConnectionDroppedMidCall: the server closing the connection under a
// call is a temporary failure, and the next call connects again.
func TestConnectionDroppedMidCall(t *testing.T) {
	srv, addr := tritontest.StartServer(t, tritontest.Options{DropRate: 1})
	c := dial(t, triton.Config{Addr: addr})
	err := infer(t, c)
	var te *triton.Error
	if !errors.As(err, &te) || !te.Temporary() {
		t.Fatalf("err = %v, want a temporary failure", err)
	}
	if _, err := c.ServerLive(ctx(t)); err != nil {
		t.Fatalf("no new connection after the drop: %v", err)
	}
	_ = srv
}

// TestHeadersOnStreams: the extra metadata goes with streaming calls too
// (ModelStreamInfer, which decoupled models need), not only unary ones.
func TestHeadersOnStreams(t *testing.T) {
	var mu sync.Mutex
	var got []string
	addr := tritontest.Start(t, tritontest.Options{Inspect: func(ctx context.Context, _ *pb.ModelInferRequest) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, md.Get("authorization")...)
	}})
	c := dial(t, triton.Config{Addr: addr, Headers: map[string]string{"authorization": "Bearer s"}})
	stream, err := triton.StreamInfer(ctx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	in := audioInput(make([]float32, 160))
	req := &pb.ModelInferRequest{ModelName: "dtmf", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: in.Name, Datatype: in.Datatype, Shape: in.Shape}}, RawInputContents: [][]byte{in.Raw}}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	if r, err := stream.Recv(); err != nil || r.GetErrorMessage() != "" {
		t.Fatalf("stream answer %v, %v", r, err)
	}
	stream.CloseSend()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "Bearer s" {
		t.Errorf("authorization on the stream: %v", got)
	}
}
