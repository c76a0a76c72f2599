package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
)

func TestSettingsSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", SettingsFileName)
	s, err := OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Get(); got != Defaults() {
		t.Errorf("first start %+v, want the defaults", got)
	}
	if s.Saved() {
		t.Error("a first start says settings were saved")
	}
	want := Settings{Server: "gpu:9001", Model: "dtmf", Concurrency: 3, ChunkSeconds: 15, CacheDir: "/c", UILanguage: "pt-BR"}
	if _, err := s.Set(want); err != nil {
		t.Fatal(err)
	}
	if !s.Saved() {
		t.Error("after a save Saved is false")
	}
	again, err := OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Saved() {
		t.Error("after a restart Saved is false")
	}
	if got := again.Get(); !reflect.DeepEqual(got, want) {
		t.Errorf("after a restart %+v, want %+v", got, want)
	}
	if info, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && info.Mode().Perm() != 0o600) {
		t.Errorf("settings file: %v, %v", info, err)
	}
	// Saved through staging.WriteFileAtomic: no temporary file is left.
	if names, _ := os.ReadDir(filepath.Dir(path)); len(names) != 1 {
		t.Errorf("the data folder holds %v, want only the settings file", names)
	}
}

func TestSettingsRefused(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		want string
	}{
		{"no server", Settings{Model: "m"}, "server's address"},
		{"no model", Settings{Server: "s"}, "choose a model"},
		{"too many requests", Settings{Server: "s", Model: "m", Concurrency: 1000}, "between 1 and 256"},
		{"chunks too long", Settings{Server: "s", Model: "m", ChunkSeconds: 601}, "between 1 and 600"},
		{"unknown task", Settings{Server: "s", Model: "m", Task: "x"}, "asr (transcribe) or ast"},
		{"negative cache cap", Settings{Server: "s", Model: "m", CacheMaxMB: -1}, "cache size cap"},
		{"certificate without its key", Settings{Server: "s", Model: "m", CertFile: "/c.pem"}, "go together"},
		{"UI language not a tag", Settings{Server: "s", Model: "m", UILanguage: "Deutsch!"}, "language tag such as de"},
		{"UI language with spaces inside", Settings{Server: "s", Model: "m", UILanguage: "pt BR"}, "language tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := OpenSettings("")
			got, err := s.Set(tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
			if got != Defaults() {
				t.Errorf("refused settings changed them to %+v", got)
			}
		})
	}
}

func TestUILanguage(t *testing.T) {
	for in, want := range map[string]string{"": "", " de ": "de", "pt-BR": "pt-BR", "zh-Hans-CN": "zh-Hans-CN", "ja": "ja", "fil": "fil"} {
		got, err := Settings{Server: "s", Model: "m", UILanguage: in}.Normalise()
		if err != nil || got.UILanguage != want {
			t.Errorf("UILanguage %q: got %q, %v; want %q", in, got.UILanguage, err, want)
		}
	}
	// An older settings file has no uiLanguage: the system's is followed.
	path := filepath.Join(t.TempDir(), SettingsFileName)
	if err := os.WriteFile(path, []byte(`{"server":"gpu:9001","model":"dtmf","language":"de"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Get(); got.UILanguage != "" || got.Language != "de" {
		t.Errorf("an older file gave UILanguage %q, Language %q; want \"\" and de", got.UILanguage, got.Language)
	}
	if !f.Saved() {
		t.Error("an existing settings file does not count as saved")
	}
}

func TestSavedInMemory(t *testing.T) {
	f, _ := OpenSettings("")
	if f.Saved() {
		t.Error("fresh settings in memory say they were saved")
	}
	if _, err := f.Set(Settings{Model: "m"}); err == nil || f.Saved() {
		t.Errorf("a refused save: %v, Saved %v", err, f.Saved())
	}
	if _, err := f.Set(Settings{Server: "s", Model: "m"}); err != nil || !f.Saved() {
		t.Errorf("a save: %v, Saved %v", err, f.Saved())
	}
}

func TestDamagedSettingsAreSetAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), SettingsFileName)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSettings(path)
	if err == nil || !strings.Contains(err.Error(), "set aside") {
		t.Errorf("error %v, want one saying the file was set aside", err)
	}
	if s.Get() != Defaults() {
		t.Errorf("settings %+v, want the defaults", s.Get())
	}
	if _, err := os.Stat(path + ".bad"); err != nil {
		t.Errorf("the damaged file was not kept: %v", err)
	}
	if s.Saved() {
		t.Error("a damaged file set aside counts as saved settings")
	}
}

// A save that cannot be written keeps the settings in use and says why,
// with staging's typed error in the chain.
func TestFailedSaveKeepsTheSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), SettingsFileName)
	if err := os.Mkdir(path, 0o700); err != nil { // a folder where the file goes
		t.Fatal(err)
	}
	f, err := OpenSettings(path)
	if err == nil {
		t.Fatal("reading a folder as the settings gave no error")
	}
	got, err := f.Set(Settings{Server: "gpu:9001", Model: "dtmf"})
	var se *staging.Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "saving the settings") {
		t.Errorf("error %v, want a *staging.Error saying the settings were not saved", err)
	}
	if got != Defaults() || f.Get() != Defaults() {
		t.Errorf("after a failed save: returned %+v, in use %+v; want the defaults", got, f.Get())
	}
}

func TestTakesOptions(t *testing.T) {
	for model, want := range map[string]bool{"canary-1b-flash": true, "Canary-180M": true, "parakeet-tdt-0.6b-v2": false, "dtmf": false} {
		if got := TakesOptions(model); got != want {
			t.Errorf("TakesOptions(%q) = %v, want %v", model, got, want)
		}
	}
}

func TestDialChanged(t *testing.T) {
	base := Defaults()
	tests := []struct {
		name   string
		change func(*Settings)
		want   bool
	}{
		{"nothing", func(*Settings) {}, false},
		{"model", func(s *Settings) { s.Model = "canary-1b" }, false},
		{"cache folder", func(s *Settings) { s.CacheDir = "/c" }, false},
		{"TLS", func(s *Settings) { s.TLS = true }, true},
		{"CA file", func(s *Settings) { s.CAFile = "/ca.pem" }, true},
		{"certificate", func(s *Settings) { s.CertFile = "/c.pem" }, true},
		{"client key", func(s *Settings) { s.ClientKey = "key.pem" }, true},
		{"old key file", func(s *Settings) { s.KeyFile = "/key.pem" }, true},
		{"server name", func(s *Settings) { s.ServerName = "gpu" }, true},
		{"headers", func(s *Settings) { s.HeaderNames = "Authorization" }, true},
	}
	for _, tt := range tests {
		s := base
		tt.change(&s)
		if got := DialChanged(base, s); got != tt.want {
			t.Errorf("%s: DialChanged = %v, want %v", tt.name, got, tt.want)
		}
	}
}
