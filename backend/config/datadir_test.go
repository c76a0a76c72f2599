package config

import (
	"path/filepath"
	"testing"
)

func TestDataDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		goos string
		env  map[string]string
		home string
		want string
	}{
		{"linux", map[string]string{"XDG_DATA_HOME": "/xdg"}, "/home/u", "/xdg/nemo-transcribe"},
		{"linux", nil, "/home/u", "/home/u/.local/share/nemo-transcribe"},
		{"linux", map[string]string{"XDG_DATA_HOME": "relative"}, "/home/u", "/home/u/.local/share/nemo-transcribe"},
		{"freebsd", nil, "/home/u", "/home/u/.local/share/nemo-transcribe"},
		{"darwin", map[string]string{"XDG_DATA_HOME": "/xdg"}, "/Users/u", "/Users/u/Library/Application Support/nemo-transcribe"},
		{"windows", map[string]string{"AppData": `C:\Users\u\AppData\Roaming`}, `C:\Users\u`, filepath.Join(`C:\Users\u\AppData\Roaming`, "nemo-transcribe")},
		{"linux", nil, "", ""},
		{"windows", nil, `C:\Users\u`, ""},
	}
	for _, tt := range tests {
		got, err := dataDir(tt.goos, env(tt.env), tt.home)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s %v home %q: %q, want an error", tt.goos, tt.env, tt.home, got)
			}
			continue
		}
		if err != nil || got != filepath.FromSlash(tt.want) && got != tt.want {
			t.Errorf("%s %v: %q, %v; want %q", tt.goos, tt.env, got, err, tt.want)
		}
	}
	if d, err := DefaultDataDir(); err != nil || d == "" {
		t.Errorf("DefaultDataDir() = %q, %v", d, err)
	}
}
