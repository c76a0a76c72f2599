package triton

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
)

// load builds the tls.Config: the files are read once, at New, so a wrong
// path fails before any connection.
func (t *TLS) load() (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, configErr("tls", err, "cannot read the TLS CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErr("tls", nil, "the TLS CA file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	hasCert, hasKey := t.CertFile != "" || len(t.CertPEM) > 0, t.KeyFile != "" || len(t.KeyPEM) > 0
	switch {
	case hasCert && hasKey:
		pair, err := t.keyPair()
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{pair}
	case hasCert || hasKey:
		return nil, configErr("tls", nil, "a client certificate needs both a certificate file and a key file")
	}
	return tc, nil
}

// keyPair loads the client certificate and key, each from its PEM bytes
// when given, else from its file. Messages name the files, never the
// key's bytes.
func (t *TLS) keyPair() (tls.Certificate, error) {
	if len(t.CertPEM) == 0 && len(t.KeyPEM) == 0 {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return pair, configErr("tls", err, "cannot use the client certificate %s with key %s: %v", t.CertFile, t.KeyFile, err)
		}
		return pair, nil
	}
	certPEM, certName := t.CertPEM, "given"
	if len(certPEM) == 0 {
		b, err := os.ReadFile(t.CertFile)
		if err != nil {
			return tls.Certificate{}, configErr("tls", err, "cannot read the client certificate: %v", err)
		}
		certPEM, certName = b, t.CertFile
	}
	keyPEM, keyName := t.KeyPEM, "given"
	if len(keyPEM) == 0 {
		b, err := os.ReadFile(t.KeyFile)
		if err != nil {
			return tls.Certificate{}, configErr("tls", err, "cannot read the client key: %v", err)
		}
		keyPEM, keyName = b, t.KeyFile
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return pair, configErr("tls", err, "cannot use the client certificate (%s) with the key (%s): %v", certName, keyName, err)
	}
	return pair, nil
}

// metadataPairs checks extra headers and returns them as key, value pairs
// in a stable order. gRPC metadata keys are lower case; those starting
// with "grpc-" and pseudo-headers belong to the transport.
func metadataPairs(h map[string]string) ([]string, error) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		v := h[k]
		key := strings.ToLower(strings.TrimSpace(k))
		if key == "" || strings.HasPrefix(key, "grpc-") || strings.HasPrefix(key, ":") {
			return nil, configErr("header", nil, "header %q cannot be set: names must not be empty or start with \"grpc-\" or \":\"", k)
		}
		for _, r := range key {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return nil, configErr("header", nil, "header name %q may hold only letters, digits, '-', '_' and '.'", k)
			}
		}
		switch key {
		case "content-type", "te", "user-agent", "host", "connection":
			return nil, configErr("header", nil, "header %q is set by the transport and cannot be overridden", k)
		}
		if !strings.HasSuffix(key, "-bin") {
			for _, r := range v {
				if r < 0x20 || r > 0x7e {
					return nil, configErr("header", nil, "the value of header %q must be printable ASCII", k)
				}
			}
		}
		pairs = append(pairs, key, v)
	}
	return pairs, nil
}

func withHeaders(ctx context.Context, pairs []string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, pairs...)
}

// diagnose finds out whether a connection that broke during setup failed
// for a TLS reason: a plaintext client at a TLS server (which just hangs
// up), or a TLS server that refuses our client certificate after the
// handshake (TLS 1.3 says so only on the first read). It makes one direct
// connection, at most 2 s, only to explain a failure; nothing is sent but
// the handshake. A finding is kept for the Client's life; a server that
// could not be reached is asked again next time.
func (c *Client) diagnose() (Problem, string) {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if c.probed {
		return c.problem, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addr := dialAddr(c.addrs[0])
	var p Problem
	var detail string
	var reached bool
	if c.tlsConfig == nil {
		p, reached = probePlaintext(ctx, addr)
	} else {
		p, detail, reached = probeTLS(ctx, addr, c.tlsConfig)
	}
	if reached {
		c.probed, c.problem = true, p
	}
	return p, detail
}

// dialAddr is the host:port of an address or a dns:/// target.
func dialAddr(a string) string {
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
		if j := strings.LastIndex(a, "/"); j >= 0 {
			a = a[j+1:]
		}
	}
	return a
}

// probePlaintext asks whether addr answers a TLS handshake.
func probePlaintext(ctx context.Context, addr string) (p Problem, reached bool) {
	d := tls.Dialer{
		NetDialer: &net.Dialer{},
		// Only to learn which protocol the port speaks; never used for data.
		Config: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		conn.Close()
		return ProblemServerWantsTLS, true
	}
	var rec tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &rec):
		return "", true // it answered, not in TLS
	case strings.Contains(err.Error(), "remote error: tls:"):
		return ProblemServerWantsTLS, true // a TLS alert is TLS talking
	case errors.As(err, &op) && op.Op == "dial":
		return "", false
	}
	return "", true
}

// probeTLS makes a TLS connection with the client's own settings and
// waits briefly for the server's verdict on it.
func probeTLS(ctx context.Context, addr string, base *tls.Config) (p Problem, detail string, reached bool) {
	cfg := base.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	cfg.NextProtos = []string{"h2"}
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return "", "", false
		}
		return tlsProblem(err.Error()), err.Error(), true
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err = conn.Read(make([]byte, 1))
	if err == nil {
		return "", "", true // the server talks to us: not a TLS problem
	}
	if p := tlsProblem(err.Error()); p != "" {
		return p, err.Error(), true
	}
	return "", "", true
}
