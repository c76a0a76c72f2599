package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
)

// Defaults shown in the UI until the user changes them.
const (
	DefaultServer = "localhost:8001"
	DefaultModel  = "parakeet-tdt-0.6b-v2"
)

// SettingsFileName is the settings file's name in the data folder.
const SettingsFileName = "settings.json"

// Settings are what the user chose in the app, saved across restarts as
// settings.json in the data folder. Nothing secret goes in here: header
// values and the client key are in the keyring (package secrets).
type Settings struct {
	Server string `json:"server"`
	Model  string `json:"model"`
	// Timestamps asks the model for word timestamps.
	Timestamps bool `json:"timestamps"`
	// Concurrency caps one file's requests in flight; 0 = the engine's.
	Concurrency int `json:"concurrency"`
	// ChunkSeconds is the longest chunk sent; 0 = the engine's default.
	ChunkSeconds float64 `json:"chunkSeconds"`
	// Language, Task and PNC are sent only to models that take them
	// (Canary, see TakesOptions); "" / nil = not sent.
	Language string `json:"language"`
	Task     string `json:"task"`
	PNC      *bool  `json:"pnc"`
	// CacheDir is where staged copies go; "" = the default folder.
	CacheDir string `json:"cacheDir"`
	// CacheMaxMB caps the staged copies kept in the cache folder, in MB;
	// 0 = the default. Applies from the next start.
	CacheMaxMB int `json:"cacheMaxMB"`
	// FFmpegPath is the ffmpeg to use; "" = the one on PATH.
	FFmpegPath string `json:"ffmpegPath"`
	// Notifications: a desktop notification when the queue finishes.
	Notifications bool `json:"notifications"`
	// Speakers is the diarization asked for files added from now on:
	// "" = off, "auto" = the count found from the audio, or a count from
	// 2 to MaxSpeakers ("3").
	Speakers string `json:"speakers,omitempty"`

	// TLS to the server: on, the certificates to trust ("" = the
	// system's), a client certificate for mutual TLS, and the name
	// expected in the server's certificate.
	TLS      bool   `json:"tls"`
	CAFile   string `json:"caFile"`
	CertFile string `json:"certFile"`
	// ClientKey is the name of the file the client certificate's key was
	// read from, for display; the key itself is in the keyring (see
	// secrets.SetClientKey). "" = none.
	ClientKey string `json:"clientKey,omitempty"`
	// KeyFile is a client key file named by an older version: the app
	// moves the key into the keyring and clears this (see
	// secrets.MigrateKeyFile); where there is no keyring the file is
	// still read from here.
	KeyFile    string `json:"keyFile"`
	ServerName string `json:"serverName"`
	// HeaderNames are the extra headers sent with every request, comma
	// separated; their values are in the keyring (see secrets.SetHeader).
	HeaderNames string `json:"headerNames"`

	// UILanguage is the language the app's window speaks, a language tag
	// such as "de" or "pt-BR"; "" follows the system's. (Language above is
	// the one spoken in the audio.) The frontend picks the nearest catalog
	// it has, so a tag it lacks falls back without an error.
	UILanguage string `json:"uiLanguage"`
}

// languageTag is the shape of a BCP 47 tag as the UI names its languages
// ("de", "pt-BR", "zh-Hans-CN"); the frontend checks it against its
// catalogs.
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Defaults are a first start's settings.
func Defaults() Settings {
	return Settings{Server: DefaultServer, Model: DefaultModel, Timestamps: true, Notifications: true}
}

// TakesOptions reports whether model takes language, task and
// punctuation parameters: NeMo's Canary models do, Parakeet does not.
func TakesOptions(model string) bool {
	return strings.Contains(strings.ToLower(model), "canary")
}

// Normalise trims the text fields and checks the numbers against what
// the engine accepts, so a bad value never reaches a job. Its errors are
// sentences for the user.
func (s Settings) Normalise() (Settings, error) {
	s.Server, s.Model = strings.TrimSpace(s.Server), strings.TrimSpace(s.Model)
	s.Language, s.Task = strings.TrimSpace(s.Language), strings.TrimSpace(s.Task)
	s.CacheDir, s.FFmpegPath = strings.TrimSpace(s.CacheDir), strings.TrimSpace(s.FFmpegPath)
	s.CAFile, s.CertFile, s.KeyFile = strings.TrimSpace(s.CAFile), strings.TrimSpace(s.CertFile), strings.TrimSpace(s.KeyFile)
	s.ClientKey = strings.TrimSpace(s.ClientKey)
	s.ServerName = strings.TrimSpace(s.ServerName)
	s.UILanguage = strings.TrimSpace(s.UILanguage)
	s.Speakers = strings.ToLower(strings.TrimSpace(s.Speakers))
	switch {
	case s.Server == "":
		return s, apperr.New(apperr.CodeSettings, nil, "enter the server's address, such as localhost:8001")
	case s.Model == "":
		return s, apperr.New(apperr.CodeSettings, nil, "choose a model")
	case s.Concurrency < 0 || s.Concurrency > 256:
		return s, apperr.New(apperr.CodeSettings, nil, "requests in flight must be between 1 and 256 (0 for the default), not %d", s.Concurrency)
	case s.ChunkSeconds < 0 || s.ChunkSeconds > 600:
		return s, apperr.New(apperr.CodeSettings, nil, "the chunk length must be between 1 and 600 seconds (0 for the default), not %g", s.ChunkSeconds)
	case s.CacheMaxMB < 0:
		return s, apperr.New(apperr.CodeSettings, nil, "the cache size cap must be 0 (the default) or more megabytes, not %d", s.CacheMaxMB)
	case (s.CertFile == "") != (s.KeyFile == "" && s.ClientKey == ""):
		return s, apperr.New(apperr.CodeSettings, nil, "a client certificate and its key go together: choose the key file too, or remove the certificate")
	case s.Task != "" && s.Task != "asr" && s.Task != "ast":
		return s, apperr.New(apperr.CodeSettings, nil, "the task must be asr (transcribe) or ast (translate), not %q", s.Task)
	case !validSpeakers(s.Speakers):
		return s, apperr.New(apperr.CodeSettings, nil, "speakers must be off, auto or a number from 2 to %d, not %q", MaxSpeakers, s.Speakers)
	case s.UILanguage != "" && !languageTag.MatchString(s.UILanguage):
		return s, apperr.New(apperr.CodeSettings, nil, "the app's language must be a language tag such as de or pt-BR (empty for the system's), not %q", s.UILanguage)
	}
	return s, nil
}

// DialChanged reports whether a connection dialled under a would differ
// under b: TLS and which headers are sent.
func DialChanged(a, b Settings) bool {
	return a.TLS != b.TLS || a.CAFile != b.CAFile || a.CertFile != b.CertFile || a.ClientKey != b.ClientKey ||
		a.KeyFile != b.KeyFile || a.ServerName != b.ServerName || a.HeaderNames != b.HeaderNames
}

// File keeps Settings in one JSON file; a File with no path keeps them
// in memory. It is safe for concurrent use.
type File struct {
	path string
	mu   sync.Mutex
	cur  Settings
	set  bool // a Set succeeded (what Saved reports for a File in memory)
}

// OpenSettings reads the settings file at path, starting from the
// defaults when it does not exist yet; "" keeps the settings in memory.
// A damaged file is set aside as settings.json.bad, so the app still
// starts and the user's file is not lost. The File is usable (with the
// defaults) even when an error is returned.
func OpenSettings(path string) (*File, error) {
	f := &File{path: path, cur: Defaults()}
	if path == "" {
		return f, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading the settings in %s: %w", path, err)
	}
	s := Defaults()
	if err := json.Unmarshal(b, &s); err != nil {
		_ = os.Rename(path, path+".bad")
		return f, fmt.Errorf("the settings in %s were damaged and were set aside as %s.bad: %w", path, filepath.Base(path), err)
	}
	if s, err = s.Normalise(); err == nil {
		f.cur = s
	}
	return f, nil
}

// Saved reports whether settings were ever saved: whether the settings
// file exists (a damaged one set aside does not count). Until then the
// app is on a first start's defaults and shows its connection step. A
// File kept in memory counts a Set.
func (f *File) Saved() bool {
	if f.path == "" {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.set
	}
	_, err := os.Stat(f.path)
	return err == nil
}

// Get returns the current settings.
func (f *File) Get() Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// Set checks s and saves it through staging.WriteFileAtomic: a crash
// never leaves half a file, and a file another program holds for a
// moment (Windows) is retried. It returns what was saved (normalised),
// or the settings kept and why s was not saved.
//
// Speakers is kept as it is: only SetSpeakers changes it, so a settings
// form loaded before the choice changed cannot undo it.
func (f *File) Set(s Settings) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.Speakers = f.cur.Speakers
	return f.save(s)
}

// save is Set without keeping Speakers; f.mu is held.
func (f *File) save(s Settings) (Settings, error) {
	s, err := s.Normalise()
	if err != nil {
		return f.cur, err
	}
	if f.path != "" {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return f.cur, fmt.Errorf("saving the settings: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return f.cur, fmt.Errorf("saving the settings: %w", err)
		}
		if err := staging.WriteFileAtomic(context.Background(), f.path, append(b, '\n'), 0o600, staging.Options{}); err != nil {
			return f.cur, fmt.Errorf("saving the settings: %w", err)
		}
	}
	f.cur = s
	f.set = true
	return s, nil
}
