package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// Settings are what the user chose in the app, saved across restarts as
// settings.json in the data folder. Nothing secret goes in here.
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
	// (Canary); "" / nil = not sent.
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

	// TLS to the server: on, the certificates to trust ("" = the
	// system's), a client certificate for mutual TLS, and the name
	// expected in the server's certificate.
	TLS      bool   `json:"tls"`
	CAFile   string `json:"caFile"`
	CertFile string `json:"certFile"`
	// ClientKey is the name of the file the client certificate's key was
	// read from, for display; the key itself is in the keyring (see
	// SetClientKey). "" = none.
	ClientKey string `json:"clientKey,omitempty"`
	// KeyFile is a client key file named by an older version: the app
	// moves the key into the keyring and clears this (see migrateKeyFile);
	// where there is no keyring the file is still read from here.
	KeyFile    string `json:"keyFile"`
	ServerName string `json:"serverName"`
	// HeaderNames are the extra headers sent with every request, comma
	// separated; their values are in the keyring (see SetHeader).
	HeaderNames string `json:"headerNames"`
}

// defaultSettings are a first start's settings.
func defaultSettings() Settings {
	return Settings{Server: DefaultServer, Model: DefaultModel, Timestamps: true, Notifications: true}
}

// takesOptions reports whether model takes language, task and
// punctuation parameters: NeMo's Canary models do, Parakeet does not.
func takesOptions(model string) bool {
	return strings.Contains(strings.ToLower(model), "canary")
}

// normalise trims the text fields and clamps the numbers to what the
// engine accepts, so a bad value never reaches a job.
func (s Settings) normalise() (Settings, error) {
	s.Server, s.Model = strings.TrimSpace(s.Server), strings.TrimSpace(s.Model)
	s.Language, s.Task = strings.TrimSpace(s.Language), strings.TrimSpace(s.Task)
	s.CacheDir, s.FFmpegPath = strings.TrimSpace(s.CacheDir), strings.TrimSpace(s.FFmpegPath)
	s.CAFile, s.CertFile, s.KeyFile = strings.TrimSpace(s.CAFile), strings.TrimSpace(s.CertFile), strings.TrimSpace(s.KeyFile)
	s.ClientKey = strings.TrimSpace(s.ClientKey)
	s.ServerName = strings.TrimSpace(s.ServerName)
	switch {
	case s.Server == "":
		return s, errors.New("enter the server's address, such as localhost:8001")
	case s.Model == "":
		return s, errors.New("choose a model")
	case s.Concurrency < 0 || s.Concurrency > 256:
		return s, fmt.Errorf("requests in flight must be between 1 and 256 (0 for the default), not %d", s.Concurrency)
	case s.ChunkSeconds < 0 || s.ChunkSeconds > 600:
		return s, fmt.Errorf("the chunk length must be between 1 and 600 seconds (0 for the default), not %g", s.ChunkSeconds)
	case s.CacheMaxMB < 0:
		return s, fmt.Errorf("the cache size cap must be 0 (the default) or more megabytes, not %d", s.CacheMaxMB)
	case (s.CertFile == "") != (s.KeyFile == "" && s.ClientKey == ""):
		return s, errors.New("a client certificate and its key go together: choose the key file too, or remove the certificate")
	case s.Task != "" && s.Task != "asr" && s.Task != "ast":
		return s, fmt.Errorf("the task must be asr (transcribe) or ast (translate), not %q", s.Task)
	}
	return s, nil
}

// request is the job for path under these settings.
func (s Settings) request(path string) transcribe.Request {
	r := transcribe.Request{
		Path:         path,
		Server:       orDefault(s.Server, DefaultServer),
		Model:        orDefault(s.Model, DefaultModel),
		CacheDir:     s.CacheDir,
		Timestamps:   s.Timestamps,
		ChunkSeconds: s.ChunkSeconds,
		Concurrency:  s.Concurrency,
		FFmpegPath:   s.FFmpegPath,
	}
	if takesOptions(r.Model) {
		r.SourceLang, r.TargetLang, r.Task, r.PNC = s.Language, s.Language, s.Task, s.PNC
	}
	return r
}

// settingsFile keeps Settings in one JSON file; "" keeps them in memory.
type settingsFile struct {
	path string
	mu   sync.Mutex
	cur  Settings
}

// openSettings reads path, starting from the defaults when it does not
// exist yet. A damaged file is set aside as settings.json.bad, so the
// app still starts and the user's file is not lost.
func openSettings(path string) (*settingsFile, error) {
	f := &settingsFile{path: path, cur: defaultSettings()}
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
	s := defaultSettings()
	if err := json.Unmarshal(b, &s); err != nil {
		_ = os.Rename(path, path+".bad")
		return f, fmt.Errorf("the settings in %s were damaged and were set aside as %s.bad: %w", path, filepath.Base(path), err)
	}
	if s, err = s.normalise(); err == nil {
		f.cur = s
	}
	return f, nil
}

// Get returns the current settings.
func (f *settingsFile) Get() Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// Set checks s and writes it (to a temporary file renamed over the old,
// so a crash never leaves half a file).
func (f *settingsFile) Set(s Settings) (Settings, error) {
	s, err := s.normalise()
	if err != nil {
		return f.Get(), err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path != "" {
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return f.cur, fmt.Errorf("saving the settings: %w", err)
		}
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
			return f.cur, fmt.Errorf("saving the settings: %w", err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			return f.cur, fmt.Errorf("saving the settings: %w", err)
		}
	}
	f.cur = s
	return s, nil
}

// Defaults returns a first start's settings.
func (a *App) Defaults() Settings { return defaultSettings() }

// GetSettings returns the saved settings.
func (a *App) GetSettings() Settings { return a.settings.Get() }

// SaveSettings checks and saves s; new jobs use it, and a change to the
// TLS settings takes effect from the next request. It returns what was
// saved (trimmed), or the old settings and why s was refused. The client
// key is not set here (see SetClientKey), but removing the certificate
// removes its key, and a new certificate must fit the key kept.
func (a *App) SaveSettings(s Settings) (Settings, error) {
	old := a.settings.Get()
	s.ClientKey, s.KeyFile = old.ClientKey, old.KeyFile
	s.CertFile = strings.TrimSpace(s.CertFile)
	switch {
	case s.CertFile == "" && (old.ClientKey != "" || old.KeyFile != ""):
		if err := deleteSecret(a.secrets, clientKeySecret); err != nil {
			return old, fmt.Errorf("removing the client key from the keyring: %w", err)
		}
		s.ClientKey, s.KeyFile = "", ""
	case s.CertFile != old.CertFile && s.ClientKey != "":
		if err := a.checkKeptKey(s.CertFile); err != nil {
			return old, err
		}
	}
	saved, err := a.settings.Set(s)
	if err != nil {
		return saved, err
	}
	if dialChanged(old, saved) {
		a.reconnect()
	}
	return saved, nil
}

// checkKeptKey checks that the client key in the keyring is the key of
// the certificate in certFile.
func (a *App) checkKeptKey(certFile string) error {
	key, err := getSecret(a.secrets, clientKeySecret)
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

// dialChanged reports whether a connection dialled under a would differ
// under b: TLS and which headers are sent.
func dialChanged(a, b Settings) bool {
	return a.TLS != b.TLS || a.CAFile != b.CAFile || a.CertFile != b.CertFile || a.ClientKey != b.ClientKey ||
		a.KeyFile != b.KeyFile || a.ServerName != b.ServerName || a.HeaderNames != b.HeaderNames
}

// PickCacheFolder shows the native folder dialog for the cache folder;
// "" means the user cancelled.
func (a *App) PickCacheFolder() (string, error) {
	return a.chooseFolder("Choose the cache folder")
}

// pemDialogs are the open dialog's titles for PickPEMFile's kinds.
var pemDialogs = map[string]string{
	"ca":   "Choose the CA certificates to trust (PEM)",
	"cert": "Choose the client certificate (PEM)",
	"key":  "Choose the client certificate's private key (PEM, unencrypted)",
}

// PickPEMFile shows the native open dialog for a PEM file of kind "ca",
// "cert" or "key"; "" means the user cancelled.
func (a *App) PickPEMFile(kind string) (string, error) {
	title, ok := pemDialogs[kind]
	if !ok {
		return "", fmt.Errorf("%q is not a kind of certificate file (ca, cert or key)", kind)
	}
	a.mu.Lock()
	open := a.openFiles
	a.mu.Unlock()
	if open == nil {
		return "", errors.New("the window is not ready yet")
	}
	paths, err := open(runtime.OpenDialogOptions{Title: title, Filters: []runtime.FileFilter{
		// GTK matches patterns case-sensitively, hence both spellings.
		{DisplayName: "PEM files", Pattern: "*.pem;*.crt;*.cer;*.key;*.PEM;*.CRT;*.CER;*.KEY"},
		{DisplayName: "All files", Pattern: "*"},
	}})
	switch {
	case err != nil:
		return "", fmt.Errorf("opening the file dialog: %w", err)
	case len(paths) > 1:
		return "", errors.New("choose one file")
	case len(paths) == 0:
		return "", nil
	}
	return paths[0], nil
}

// TakesOptions reports whether model takes language, task and punctuation.
func (a *App) TakesOptions(model string) bool { return takesOptions(model) }

// FFmpegInfo says whether the ffmpeg the settings name can be run.
type FFmpegInfo struct {
	Found bool   `json:"found"`
	Path  string `json:"path"` // the executable found, or what was looked for
}

// FFmpegStatus looks for the ffmpeg at path ("" = $NEMO_TRANSCRIBE_FFMPEG,
// else ffmpeg on PATH). Without it only the built-in decoders are used.
func (a *App) FFmpegStatus(path string) FFmpegInfo {
	want := strings.TrimSpace(path)
	if want == "" {
		want = os.Getenv(audio.FFmpegEnv)
	}
	if want == "" || want == "off" {
		if want == "off" {
			return FFmpegInfo{Path: "off"}
		}
		want = "ffmpeg"
	}
	found, err := exec.LookPath(want)
	if err != nil {
		return FFmpegInfo{Path: want}
	}
	return FFmpegInfo{Found: true, Path: found}
}
