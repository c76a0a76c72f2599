package main

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"net/textproto"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/zalando/go-keyring"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
)

// SecretStore keeps secrets (extra header values such as an
// authorization token, the client key for mutual TLS) out of the
// settings file: the OS keyring in the app, memory where there is none.
type SecretStore interface {
	Get(key string) (string, error) // "" and no error when not set
	Set(key, value string) error
	Delete(key string) error
}

const keyringService = "nemo-transcribe"

// osKeyring is the OS keyring (Secret Service, Keychain, Credential
// Manager) through go-keyring.
type osKeyring struct{}

func (osKeyring) Get(key string) (string, error) {
	v, err := keyring.Get(keyringService, key)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", nil
	}
	return v, err
}
func (osKeyring) Set(key, value string) error { return keyring.Set(keyringService, key, value) }
func (osKeyring) Delete(key string) error {
	if err := keyring.Delete(keyringService, key); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	return nil
}

// memSecrets keeps secrets for this run only.
type memSecrets struct {
	mu sync.Mutex
	m  map[string]string
}

// temporary: what is kept here is gone at the next start.
func (*memSecrets) temporary() bool { return true }

// forgetful reports whether st loses its secrets when the app quits.
func forgetful(st SecretStore) bool {
	t, ok := st.(interface{ temporary() bool })
	return ok && t.temporary()
}

func (s *memSecrets) Get(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}
func (s *memSecrets) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[key] = value
	return nil
}
func (s *memSecrets) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// openSecrets returns the OS keyring when it answers, else (CI, a
// desktop without a Secret Service) secrets kept in memory for this run,
// and says so in the log.
func openSecrets() SecretStore {
	// Without a session bus, asking would make the D-Bus library try to
	// launch one (a stray daemon under CI's X server): don't ask.
	if goruntime.GOOS == "linux" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		log.Print("no D-Bus session: header values and the client key are kept in memory until the app quits")
		return &memSecrets{}
	}
	if _, err := (osKeyring{}).Get("probe"); err != nil {
		log.Printf("no OS keyring (%v): header values and the client key are kept in memory until the app quits", err)
		return &memSecrets{}
	}
	return osKeyring{}
}

func headerKey(name string) string { return "header:" + strings.ToLower(name) }

// headerNames splits the settings' list of header names.
func headerNames(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// SetHeader adds an extra header sent with every request, or with an
// empty value removes it. Its name goes in the settings, its value in
// the keyring, never in the settings file or the log.
func (a *App) SetHeader(name, value string) (Settings, error) {
	name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
	if name == "" || strings.ContainsAny(name, " :\t\r\n") {
		return a.settings.Get(), fmt.Errorf("%q is not a header name: use letters, digits and dashes, such as Authorization", name)
	}
	s := a.settings.Get()
	names := headerNames(s.HeaderNames)
	if value == "" {
		if err := a.secrets.Delete(headerKey(name)); err != nil {
			return s, fmt.Errorf("removing the header from the keyring: %w", err)
		}
		names = slices.DeleteFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
	} else {
		if err := a.secrets.Set(headerKey(name), value); err != nil {
			return s, fmt.Errorf("keeping the header in the keyring: %w", err)
		}
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			names = append(names, name)
		}
	}
	s.HeaderNames = strings.Join(names, ",")
	saved, err := a.settings.Set(s)
	if err == nil {
		a.reconnect() // the value may have changed even when the names did not
	}
	return saved, err
}

// reconnect makes the engine dial again with the settings and secrets as
// they are now, from the next request on, without stopping the jobs in
// flight (see transcribe.Engine.Reconnect).
func (a *App) reconnect() {
	if r, ok := a.engine.(interface{ Reconnect() }); ok {
		r.Reconnect()
	}
}

// clientKeySecret is where the client key for mutual TLS is kept.
const clientKeySecret = "tls:client-key"

// secretPart is the most one keyring entry is given: Windows' Credential
// Manager takes at most 2560 bytes and macOS's security tool not much
// more, and an RSA-4096 key in PEM is about 3.2 KB. Longer secrets are
// kept in parts: key, key#2, key#3, …
const secretPart = 2000

// maxSecretParts bounds a secret to about 32 KB.
const maxSecretParts = 16

func partKey(key string, i int) string {
	if i == 1 {
		return key
	}
	return key + "#" + strconv.Itoa(i)
}

// putSecret keeps value under key, in parts when it is long.
func putSecret(st SecretStore, key, value string) error {
	n := (len(value) + secretPart - 1) / secretPart
	if n > maxSecretParts {
		return fmt.Errorf("%d bytes is more than the keyring is given (%d)", len(value), maxSecretParts*secretPart)
	}
	for i := 1; i <= n; i++ {
		if err := st.Set(partKey(key, i), value[(i-1)*secretPart:min(i*secretPart, len(value))]); err != nil {
			return err
		}
	}
	// Parts of a longer secret kept before would be read as part of this.
	for i := n + 1; i <= maxSecretParts; i++ {
		if err := st.Delete(partKey(key, i)); err != nil {
			return err
		}
	}
	return nil
}

// getSecret reads a secret putSecret kept; "" when there is none.
func getSecret(st SecretStore, key string) (string, error) {
	var b strings.Builder
	for i := 1; i <= maxSecretParts; i++ {
		v, err := st.Get(partKey(key, i))
		if err != nil {
			return "", err
		}
		if v == "" {
			break
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// deleteSecret removes a secret putSecret kept, every part of it.
func deleteSecret(st SecretStore, key string) error {
	var errs []error
	for i := 1; i <= maxSecretParts; i++ {
		errs = append(errs, st.Delete(partKey(key, i)))
	}
	return errors.Join(errs...)
}

// readClientKey reads the private key in keyFile and checks that it is
// the key of the certificate in certFile. It returns the key alone, in
// PEM. Its errors say what to do and never quote the key.
func readClientKey(certFile, keyFile string) ([]byte, error) {
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

// SetClientKey takes the client certificate certFile and its private key
// from keyFile for mutual TLS: it checks that they belong together, keeps
// the key in the keyring and the certificate's path in the settings,
// with only the key file's name, for display. The key file is left as it
// is; the app does not read it again. Keys protected by a passphrase are
// refused.
func (a *App) SetClientKey(certFile, keyFile string) (Settings, error) {
	certFile, keyFile = strings.TrimSpace(certFile), strings.TrimSpace(keyFile)
	switch {
	case certFile == "":
		return a.settings.Get(), errors.New("choose the client certificate first, then its key")
	case keyFile == "":
		return a.settings.Get(), errors.New("choose the client key file")
	}
	keyPEM, err := readClientKey(certFile, keyFile)
	if err != nil {
		return a.settings.Get(), err
	}
	if err := putSecret(a.secrets, clientKeySecret, string(keyPEM)); err != nil {
		return a.settings.Get(), fmt.Errorf("keeping the client key in the keyring: %w", err)
	}
	s := a.settings.Get()
	s.CertFile, s.ClientKey, s.KeyFile = certFile, filepath.Base(keyFile), ""
	saved, err := a.settings.Set(s)
	if err != nil {
		return saved, err
	}
	a.reconnect()
	return saved, nil
}

// RemoveClientCert stops sending a client certificate: its path leaves
// the settings and its key the keyring.
func (a *App) RemoveClientCert() (Settings, error) {
	s := a.settings.Get()
	if err := deleteSecret(a.secrets, clientKeySecret); err != nil {
		return s, fmt.Errorf("removing the client key from the keyring: %w", err)
	}
	s.CertFile, s.ClientKey, s.KeyFile = "", "", ""
	saved, err := a.settings.Set(s)
	if err != nil {
		return saved, err
	}
	a.reconnect()
	return saved, nil
}

// migrateKeyFile moves the client key an older version named by its path
// (KeyFile) into the keyring and clears the path; main runs it once at
// start, before the window opens (nothing else sets KeyFile: SetClientKey
// keeps keys in the keyring). The file itself is left as it is. Where
// secrets live only in memory it changes nothing: the file keeps working,
// where moving the key would lose it at the next start. A key that cannot
// be moved stays in use from its file.
func (a *App) migrateKeyFile() {
	f := a.settings
	s := f.Get()
	if s.KeyFile == "" || forgetful(a.secrets) {
		return
	}
	keyPEM, err := readClientKey(s.CertFile, s.KeyFile)
	if err == nil {
		err = putSecret(a.secrets, clientKeySecret, string(keyPEM))
	}
	if err != nil {
		log.Printf("the client key file %s was not moved into the keyring and is still used from there: %s", s.KeyFile, apperr.Message(err))
		return
	}
	path := s.KeyFile
	s.ClientKey, s.KeyFile = filepath.Base(path), ""
	if _, err := f.Set(s); err != nil {
		log.Printf("the client key file %s was not moved into the keyring and is still used from there: %v", path, err)
		return
	}
	log.Printf("the client key from %s is now kept in the system keyring and the settings no longer name the file (which was left as it was)", path)
}

// connConfig is how to reach addr (one or more addresses, comma
// separated) under the current settings and secrets.
func (a *App) connConfig(addr string) (inference.Config, error) {
	s := a.settings.Get()
	cfg := inference.Config{
		Addresses: headerNames(addr),
		TLS:       inference.TLSConfig{Enabled: s.TLS, CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile, ServerName: s.ServerName},
		Retry:     inference.DefaultRetryPolicy(),
	}
	if s.ClientKey != "" {
		key, err := getSecret(a.secrets, clientKeySecret)
		if err != nil {
			return cfg, fmt.Errorf("reading the client key from the keyring: %w", err)
		}
		if key == "" {
			return cfg, apperr.New(apperr.CodeTLS, nil, "the client key (%s) is not in the keyring: choose the key file again in Settings", s.ClientKey)
		}
		cfg.TLS.KeyPEM = []byte(key)
	}
	for _, n := range headerNames(s.HeaderNames) {
		v, err := a.secrets.Get(headerKey(n))
		if err != nil {
			return cfg, fmt.Errorf("reading the header %s from the keyring: %w", n, err)
		}
		if v != "" {
			if cfg.Headers == nil {
				cfg.Headers = map[string]string{}
			}
			cfg.Headers[n] = v
		}
	}
	return cfg, nil
}

// connect dials addr with the settings' TLS and headers; the engine calls
// it once per server address, and again after a reconnect.
func (a *App) connect(addr string) (*inference.Server, error) {
	cfg, err := a.connConfig(addr)
	if err != nil {
		return nil, err
	}
	return inference.ConnectConfig(cfg)
}
