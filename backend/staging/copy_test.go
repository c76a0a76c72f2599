package staging

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestStageDiskFullMidCopy(t *testing.T) {
	src := writeSource(t, "long.wav", pattern(3*copyBufferSize, 2))
	cache := tempDir(t)
	fsys := newFaultFS(map[string][]error{"write": {nil, syscall.ENOSPC}})
	opts, timer := testOptions(fsys)

	_, err := Stage(context.Background(), src, cache, opts)

	var e *Error
	if !errors.As(err, &e) || e.Op != OpWrite || !errors.Is(err, syscall.ENOSPC) || e.Attempts != 1 {
		t.Fatalf("error = %v (%+v), want a write error after one attempt", err, e)
	}
	if len(timer.waits) != 0 {
		t.Errorf("waited %v for a full disk", timer.waits)
	}
	if names := cacheFiles(t, cache); len(names) != 0 {
		t.Errorf("cache holds %v after a failed copy", names)
	}
}

// TestStageAwkwardSources stages files whose names or permissions trip up
// naive code.
func TestStageAwkwardSources(t *testing.T) {
	data := pattern(copyBufferSize/2+3, 4)
	tests := []struct {
		name    string
		file    string
		prepare func(t *testing.T, path string)
	}{
		{"spaces and unicode", "Interview mit Zoë – Teil 2 (final) 日本語.wav", nil},
		{"read-only", "archived.wav", func(t *testing.T, path string) {
			if err := os.Chmod(path, 0o444); err != nil {
				t.Fatal(err)
			}
		}},
		// Windows drops trailing spaces from names, hence the trims.
		{"long path", filepath.Join(strings.TrimSpace(strings.Repeat("a long folder name with spaces ", 4)),
			strings.TrimSpace(strings.Repeat("und noch ein Ordner mit Ümlauten ", 4)),
			strings.Repeat("x", 60), "talk.wav"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(tempDir(t), tt.file)
			if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(t, src)
			}
			before, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}

			got, err := Stage(context.Background(), src, tempDir(t), Options{})
			if err != nil {
				t.Fatal(err)
			}

			if copy, err := os.ReadFile(got.Path); err != nil || !bytes.Equal(copy, data) {
				t.Errorf("copy differs (err %v)", err)
			}
			after, err := os.Stat(src)
			if err != nil || after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("source changed: %v -> %v (%v)", before.Mode(), after.Mode(), err)
			}
			// The copy is ours to delete later, whatever the source's mode.
			if runtime.GOOS == "windows" {
				if fi, _ := os.Stat(got.Path); fi.Mode().Perm()&0o200 == 0 {
					t.Errorf("copy is read-only: %v", fi.Mode())
				}
			}
		})
	}
}

func TestWriteFileAtomicNotifiesRetries(t *testing.T) {
	path := filepath.Join(tempDir(t), "talk.srt")
	fsys := newFaultFS(map[string][]error{"rename": times(3, busy)})
	opts, _ := testOptions(fsys)
	var retries []Retry
	opts.OnRetry = func(r Retry) { retries = append(retries, r) }

	if err := WriteFileAtomic(context.Background(), path, []byte("1\n"), 0o644, opts); err != nil {
		t.Fatal(err)
	}
	if len(retries) != 3 {
		t.Fatalf("%d retry notifications, want 3", len(retries))
	}
	for i, r := range retries {
		if r.Op != OpRename || r.Path != path || r.Attempt != i+1 || !errors.Is(r.Err, busy) {
			t.Errorf("retry %d = %+v", i, r)
		}
	}
}
