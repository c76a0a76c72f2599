package staging

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name        string
		existing    string // "" means no file yet
		script      map[string][]error
		wantRenames int
	}{
		{"new file", "", nil, 1},
		{"replaces an existing file", "old subtitles, longer than the new ones", nil, 1},
		{"destination busy twice", "held by a player", map[string][]error{"rename": times(2, busy)}, 3},
		{"create busy once", "", map[string][]error{"create": {busy}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tempDir(t)
			path := filepath.Join(dir, "talk.srt")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			fsys := newFaultFS(tt.script)
			opts, _ := testOptions(fsys)

			if err := WriteFileAtomic(context.Background(), path, []byte("new subtitles"), 0o644, opts); err != nil {
				t.Fatal(err)
			}

			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new subtitles" {
				t.Errorf("file = %q, %v; want the new content", got, err)
			}
			if runtime.GOOS != "windows" {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
					t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
				}
			}
			if names := cacheFiles(t, dir); !slices.Equal(names, []string{"talk.srt"}) {
				t.Errorf("folder holds %v, want only talk.srt", names)
			}
			if n := fsys.calls("rename"); n != tt.wantRenames {
				t.Errorf("renamed %d times, want %d", n, tt.wantRenames)
			}
			// The new content is complete and flushed before it takes the name.
			steps := slices.DeleteFunc(fsys.steps(), func(s string) bool { return s == "create" })
			steps = slices.Compact(steps)
			if want := []string{"write", "chmod", "sync", "close", "rename"}; !slices.Equal(steps, want) {
				t.Errorf("steps = %v, want %v", steps, want)
			}
		})
	}
}

func TestWriteFileAtomicFailureLeavesNoTrace(t *testing.T) {
	tests := []struct {
		name   string
		script map[string][]error
		wantOp string
		wantIs error
	}{
		{"write denied", map[string][]error{"write": {permanent}}, OpWrite, fs.ErrPermission},
		{"sync fails", map[string][]error{"sync": {permanent}}, OpWrite, fs.ErrPermission},
		{"rename denied", map[string][]error{"rename": {permanent}}, OpRename, fs.ErrPermission},
		{"destination busy for good", map[string][]error{"rename": times(1000, busy)}, OpRename, busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tempDir(t)
			path := filepath.Join(dir, "talk.vtt")
			if err := os.WriteFile(path, []byte("WEBVTT\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			opts, _ := testOptions(newFaultFS(tt.script))

			err := WriteFileAtomic(context.Background(), path, []byte("WEBVTT\n\nreplacement"), 0o644, opts)

			var e *Error
			if !errors.As(err, &e) || e.Op != tt.wantOp || e.Path != path || !errors.Is(err, tt.wantIs) {
				t.Fatalf("error = %v (%+v), want op %s on %s wrapping %v", err, e, tt.wantOp, path, tt.wantIs)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("message %q does not name the file", err)
			}
			if got, _ := os.ReadFile(path); string(got) != "WEBVTT\n" {
				t.Errorf("old file changed to %q", got)
			}
			if names := cacheFiles(t, dir); !slices.Equal(names, []string{"talk.vtt"}) {
				t.Errorf("folder holds %v, want only talk.vtt", names)
			}
		})
	}
}

func TestWriteFileAtomicBadPaths(t *testing.T) {
	dir := tempDir(t)
	tests := []struct {
		name     string
		path     string
		wantIs   error
		wantText string
	}{
		{"a folder", dir, errIsDir, "is a folder, not a file"},
		{"missing folder", filepath.Join(dir, "nope", "x.txt"), fs.ErrNotExist, "folder not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFileAtomic(context.Background(), tt.path, []byte("x"), 0o644, Options{})
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error = %v, want %v naming %s", err, tt.wantIs, tt.path)
			}
		})
	}
}

func TestWriteFileAtomicCancelled(t *testing.T) {
	dir := tempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := WriteFileAtomic(ctx, filepath.Join(dir, "x.txt"), []byte("x"), 0o644, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if names := cacheFiles(t, dir); len(names) != 0 {
		t.Errorf("folder holds %v", names)
	}
}
