// Package secrets keeps what must not go in the settings file (extra
// header values such as an authorization token, the client key for mutual
// TLS) in the OS keyring, and builds the inference.Config the settings
// and those secrets describe together: the settings name a header or a
// key, the keyring holds its value.
package secrets

import (
	"errors"
	"log"
	"os"
	"runtime"
	"sync"

	"github.com/zalando/go-keyring"
)

// Store keeps secrets: the OS keyring in the app, memory where there is
// none.
type Store interface {
	Get(key string) (string, error) // "" and no error when not set
	Set(key, value string) error
	Delete(key string) error
}

// keyringService names the app's entries in the OS keyring.
const keyringService = "nemo-transcribe"

// OSKeyring is the OS keyring (Secret Service, Keychain, Credential
// Manager) through go-keyring.
type OSKeyring struct{}

func (OSKeyring) Get(key string) (string, error) {
	v, err := keyring.Get(keyringService, key)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", nil
	}
	return v, err
}

func (OSKeyring) Set(key, value string) error { return keyring.Set(keyringService, key, value) }

func (OSKeyring) Delete(key string) error {
	if err := keyring.Delete(keyringService, key); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	return nil
}

// Memory keeps secrets for this run only. The zero value is ready.
type Memory struct {
	mu sync.Mutex
	m  map[string]string
}

// Temporary reports that what is kept here is gone at the next start.
func (*Memory) Temporary() bool { return true }

func (s *Memory) Get(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *Memory) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[key] = value
	return nil
}

func (s *Memory) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// Len is how many entries are kept (a long secret takes several).
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Forgetful reports whether st loses its secrets when the app quits: it
// has a Temporary method that says so.
func Forgetful(st Store) bool {
	t, ok := st.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// Open returns the OS keyring when it answers, else (CI, a desktop
// without a Secret Service) secrets kept in memory for this run, and says
// so in the log.
func Open() Store {
	// Without a session bus, asking would make the D-Bus library try to
	// launch one (a stray daemon under CI's X server): don't ask.
	if runtime.GOOS == "linux" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		log.Print("no D-Bus session: header values and the client key are kept in memory until the app quits")
		return &Memory{}
	}
	if _, err := (OSKeyring{}).Get("probe"); err != nil {
		log.Printf("no OS keyring (%v): header values and the client key are kept in memory until the app quits", err)
		return &Memory{}
	}
	return OSKeyring{}
}
