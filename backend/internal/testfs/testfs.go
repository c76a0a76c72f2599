// Package testfs has file-system helpers for tests that also run as
// Windows programs under Wine (scripts/test-windows.sh).
package testfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// TempDir is t.TempDir for tests that also run under Wine: there, Go 1.26's
// os.RemoveAll (and so t.TempDir's cleanup) fails with "Invalid function",
// so the folder is removed entry by entry instead. A file that cannot be
// removed fails the test: on Windows that means someone still holds it,
// which is exactly what staging must never leave behind.
func TempDir(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "nemo-transcribe-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RemoveTree(dir); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
	})
	return dir
}

// RemoveTree removes dir and everything in it, deepest entries first,
// making read-only files writable so they can go.
func RemoveTree(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Reverse(paths)
	for _, p := range paths {
		_ = os.Chmod(p, 0o700)
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
