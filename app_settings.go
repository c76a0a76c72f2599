package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/secrets"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// jobRequest is the job for path under the settings s: only models that
// take them (config.TakesOptions) are sent language, task and punctuation.
func jobRequest(s config.Settings, path string) transcribe.Request {
	r := transcribe.Request{
		Path:         path,
		Server:       orDefault(s.Server, config.DefaultServer),
		Model:        orDefault(s.Model, config.DefaultModel),
		CacheDir:     s.CacheDir,
		Timestamps:   s.Timestamps,
		ChunkSeconds: s.ChunkSeconds,
		Concurrency:  s.Concurrency,
		FFmpegPath:   s.FFmpegPath,
	}
	if config.TakesOptions(r.Model) {
		r.SourceLang, r.TargetLang, r.Task, r.PNC = s.Language, s.Language, s.Task, s.PNC
	}
	return r
}

// GetSettings returns the saved settings.
func (a *App) GetSettings() config.Settings { return a.settings.Get() }

// SettingsSaved reports whether settings were ever saved (the settings
// file exists): until then the window shows the first-run connection step.
func (a *App) SettingsSaved() bool { return a.settings.Saved() }

// SaveSettings checks and saves s; new jobs use it, and a change to the
// TLS settings takes effect from the next request. It returns what was
// saved (trimmed), or the old settings and why s was refused. The client
// key is not set here (see SetClientKey), but removing the certificate
// removes its key, and a new certificate must fit the key kept.
func (a *App) SaveSettings(s config.Settings) (config.Settings, error) {
	old := a.settings.Get()
	saved, err := secrets.SaveSettings(a.settings, a.secrets, s)
	if err != nil {
		return saved, err
	}
	if config.DialChanged(old, saved) {
		a.reconnect()
	}
	return saved, nil
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
