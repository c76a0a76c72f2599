package tritontest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs are the PEM files WriteCerts writes, for TLS tests and TLS runs
// of the devserver.
type Certs struct {
	CA         string // the test CA's certificate
	ServerCert string // server certificate for localhost, 127.0.0.1 and ::1, signed by CA
	ServerKey  string
	ClientCert string // client certificate signed by CA, for mTLS
	ClientKey  string
	OtherCA    string // an unrelated CA: trusting it instead of CA must fail
}

// WriteCerts creates a throwaway CA, a server and a client certificate
// signed by it, and a second unrelated CA, as PEM files in dir. They are
// valid from an hour ago for a week.
func WriteCerts(dir string) (Certs, error) {
	c := Certs{
		CA: filepath.Join(dir, "ca.pem"), OtherCA: filepath.Join(dir, "other-ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
	}
	ca, caKey, err := newCert(nil, nil, "tritontest CA", true)
	if err != nil {
		return c, err
	}
	other, _, err := newCert(nil, nil, "tritontest unrelated CA", true)
	if err != nil {
		return c, err
	}
	srv, srvKey, err := newCert(ca, caKey, "localhost", false)
	if err != nil {
		return c, err
	}
	cli, cliKey, err := newCert(ca, caKey, "nemo-transcribe test client", false)
	if err != nil {
		return c, err
	}
	for _, f := range []struct {
		path string
		cert *x509.Certificate
		key  *ecdsa.PrivateKey
	}{
		{c.CA, ca, nil}, {c.OtherCA, other, nil},
		{c.ServerCert, srv, nil}, {c.ServerKey, nil, srvKey},
		{c.ClientCert, cli, nil}, {c.ClientKey, nil, cliKey},
	} {
		var block *pem.Block
		if f.cert != nil {
			block = &pem.Block{Type: "CERTIFICATE", Bytes: f.cert.Raw}
		} else {
			der, err := x509.MarshalECPrivateKey(f.key)
			if err != nil {
				return c, err
			}
			block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		}
		if err := os.WriteFile(f.path, pem.EncodeToMemory(block), 0o600); err != nil {
			return c, err
		}
	}
	return c, nil
}

// newCert makes a CA (parent nil: self-signed) or a leaf signed by parent,
// usable by servers and clients alike.
func newCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"NeMo Transcribe tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// LoadServerTLS builds a server TLS configuration from PEM files. With
// clientCA set, clients must present a certificate signed by it (mTLS).
func LoadServerTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pemBytes, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errors.New("client CA: no PEM certificate in " + clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
