package main

import (
	"errors"
	"fmt"
	"log"
	"net/textproto"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"

	"github.com/zalando/go-keyring"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
)

// SecretStore keeps secrets (extra header values such as an
// authorization token) out of the settings file: the OS keyring in the
// app, memory where there is none.
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
		log.Print("no D-Bus session: header values are kept in memory until the app quits")
		return &memSecrets{}
	}
	if _, err := (osKeyring{}).Get("probe"); err != nil {
		log.Printf("no OS keyring (%v): header values are kept in memory until the app quits", err)
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
	return a.settings.Set(s)
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

// Connect dials addr with the settings' TLS and headers; the engine calls
// it once per server address.
func (a *App) connect(addr string) (*inference.Server, error) {
	cfg, err := a.connConfig(addr)
	if err != nil {
		return nil, err
	}
	return inference.ConnectConfig(cfg)
}
