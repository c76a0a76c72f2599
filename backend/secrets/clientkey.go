package secrets

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// ClientKey is where the client key for mutual TLS is kept.
const ClientKey = "tls:client-key"

// ReadClientKey reads the private key in keyFile and checks that it is
// the key of the certificate in certFile. It returns the key alone, in
// PEM. Its errors say what to do and never quote the key.
func ReadClientKey(certFile, keyFile string) ([]byte, error) {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, apperr.New(apperr.CodeTLS, err, "cannot read the key file: %v", err)
	}
	var key *pem.Block
	for rest := raw; key == nil; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"):
			return nil, apperr.New(apperr.CodeTLS, nil, "the key in %s is protected by a passphrase, which the app does not take: save an unencrypted copy "+
				"(openssl pkey -in %s -out key.pem), choose that copy, then delete it; the app keeps the key in the system keyring", keyFile, filepath.Base(keyFile))
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			key = b
		}
	}
	if key == nil {
		return nil, apperr.New(apperr.CodeTLS, nil, "%s holds no private key in PEM form (a block that begins -----BEGIN PRIVATE KEY-----): choose the key file of the client certificate", keyFile)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: key.Type, Bytes: key.Bytes})
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, apperr.New(apperr.CodeTLS, err, "cannot read the client certificate: %v", err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		switch msg := err.Error(); {
		case strings.Contains(msg, "does not match"):
			return nil, apperr.New(apperr.CodeTLS, err, "the key in %s is not the key of the certificate %s: choose the key that was made with that certificate", keyFile, certFile)
		case strings.Contains(msg, "certificate input"):
			return nil, apperr.New(apperr.CodeTLS, err, "%s holds no certificate in PEM form (a block that begins -----BEGIN CERTIFICATE-----): choose the client certificate file", certFile)
		case strings.Contains(msg, "parse private key"), strings.Contains(msg, "unknown private key"):
			return nil, apperr.New(apperr.CodeTLS, err, "the key in %s cannot be read: it is damaged or of a kind Go does not support (use RSA, ECDSA or Ed25519)", keyFile)
		}
		return nil, apperr.New(apperr.CodeTLS, err, "cannot use the key in %s with the certificate %s: %v", keyFile, certFile, err)
	}
	return keyPEM, nil
}

// checkKeptKey checks that the client key in st is the key of the
// certificate in certFile.
func checkKeptKey(st Store, certFile string) error {
	key, err := Get(st, ClientKey)
	if err != nil {
		return fmt.Errorf("reading the client key from the keyring: %w", err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("cannot read the client certificate: %w", err)
	}
	if _, err := tls.X509KeyPair(certPEM, []byte(key)); err != nil {
		return fmt.Errorf("the client key kept in the keyring is not the key of the certificate %s: choose that certificate's key file too", certFile)
	}
	return nil
}
