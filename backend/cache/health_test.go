package cache

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestOneDriveRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows paths: see TestOneDriveRootWindows")
	}
	env := map[string]string{
		"OneDrive":           "/home/ana/OneDrive",
		"OneDriveCommercial": "/home/ana/OneDrive - Contoso",
	}
	tests := []struct {
		dir, want string
	}{
		{"/home/ana/OneDrive/cache", "/home/ana/OneDrive"},
		{"/home/ana/OneDrive", "/home/ana/OneDrive"},
		{"/home/ana/OneDrive - Contoso/Media/cache", "/home/ana/OneDrive - Contoso"},
		{"/home/ana/OneDriveBackup/cache", ""}, // a sibling with the same prefix
		{"/home/ana/.cache/nemo-transcribe", ""},
		{"/home/ana", ""},
	}
	for _, tt := range tests {
		got, ok := oneDriveRoot(tt.dir, func(k string) string { return env[k] })
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("oneDriveRoot(%q) = %q, %v; want %q", tt.dir, got, ok, tt.want)
		}
	}
	if _, ok := oneDriveRoot("/x", func(string) string { return "" }); ok {
		t.Error("no OneDrive variables, still found one")
	}
	if _, ok := oneDriveRoot("/x/y", func(string) string { return "x" }); ok {
		t.Error("a relative OneDrive variable matched")
	}
}

func TestCheckFolder(t *testing.T) {
	dir := filepath.Join(tempDir(t), "OneDrive", "cache")
	inside := func(k string) string {
		if k == "OneDriveConsumer" {
			return filepath.Dir(dir)
		}
		return ""
	}
	outside := func(string) string { return "" }
	plenty := func(string) (uint64, error) { return 50 << 30, nil }
	tests := []struct {
		name     string
		getenv   func(string) string
		free     func(string) (uint64, error)
		want     []WarningKind
		wantText []string
	}{
		{"fine", outside, plenty, nil, nil},
		{"inside OneDrive", inside, plenty, []WarningKind{WarnOneDrive},
			[]string{dir, "inside OneDrive", "outside OneDrive in Settings"}},
		{"nearly full", outside, func(string) (uint64, error) { return 300 << 20, nil }, []WarningKind{WarnLowSpace},
			[]string{"only 300.0 MiB free", dir}},
		{"space unknown", outside, func(string) (uint64, error) { return 0, errors.New("statfs broke") },
			[]WarningKind{WarnSpaceUnknown}, []string{"statfs broke"}},
		{"both", inside, func(string) (uint64, error) { return 0, nil }, []WarningKind{WarnOneDrive, WarnLowSpace},
			[]string{"only 0 bytes free"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := checkFolder(dir, tt.getenv, tt.free)
			var kinds []WarningKind
			var text string
			for _, w := range ws {
				kinds = append(kinds, w.Kind)
				text += w.Message + "\n"
			}
			if len(kinds) != len(tt.want) {
				t.Fatalf("warnings %v, want %v", kinds, tt.want)
			}
			for i := range kinds {
				if kinds[i] != tt.want[i] {
					t.Errorf("warnings %v, want %v", kinds, tt.want)
				}
			}
			for _, s := range tt.wantText {
				if !strings.Contains(text, s) {
					t.Errorf("warnings %q lack %q", text, s)
				}
			}
		})
	}
}

func TestFreeSpaceReal(t *testing.T) {
	n, err := freeSpace(tempDir(t))
	if err != nil || n == 0 {
		t.Errorf("freeSpace = %d, %v; want some space", n, err)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1.0 KiB", 3 << 30: "3.0 GiB", 1536 << 20: "1.5 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
