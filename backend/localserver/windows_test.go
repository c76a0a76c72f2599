//go:build windows

package localserver

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// The Windows paths of the package, on Windows (scripts/test-windows.sh's
// pattern runs it under Wine): free space through GetDiskFreeSpaceEx, the
// server files written and rewritten with Windows rename semantics, the
// data folder under %AppData%, and docker missing as Windows reports it.
// No t.TempDir: its RemoveAll fails under Wine (see BUILD-NOTES).
func TestWindowsFilesDiskAndNoDocker(t *testing.T) {
	root, err := os.MkdirTemp("", "localserver-windows-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeOneByOne(t, root) })
	ctx := context.Background()

	free, at, err := freeSpace(filepath.Join(root, "not", "made", "yet"))
	if err != nil || free <= 0 || at != root {
		t.Errorf("freeSpace: %d bytes at %q, %v; want some at %s", free, at, err, root)
	}

	t.Setenv("AppData", filepath.Join(root, "Roaming"))
	dir, err := DefaultDir()
	if err != nil || dir != filepath.Join(root, "Roaming", "nemo-transcribe", "local-server") {
		t.Errorf("DefaultDir = %q, %v", dir, err)
	}

	m := New(Config{Dir: dir, Docker: "nemo-no-such-docker", NvidiaSMI: "nemo-no-such-nvidia-smi"})
	rep, err := m.WriteFiles(ctx, WriteOptions{})
	if err != nil || len(rep.Written) == 0 {
		t.Fatalf("WriteFiles: %+v %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "repository-cpu", "parakeet-tdt-0.6b-v2", "config.pbtxt")); err != nil {
		t.Errorf("the CPU repository was not written: %v", err)
	}
	// An edit survives a rewrite; the rest is replaced in place.
	edited := filepath.Join(dir, "compose.yaml")
	data, _ := os.ReadFile(edited)
	if err := os.WriteFile(edited, append(data, "# the user's line\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = m.WriteFiles(ctx, WriteOptions{})
	if err != nil || !slices.Contains(rep.Kept, "compose.yaml") {
		t.Errorf("second WriteFiles: %+v %v", rep, err)
	}
	rep, err = m.WriteFiles(ctx, WriteOptions{Reset: true})
	if err != nil || slices.Contains(rep.Kept, "compose.yaml") {
		t.Errorf("WriteFiles with Reset: %+v %v", rep, err)
	}
	if got, _ := os.ReadFile(edited); string(got) != string(data) {
		t.Error("Reset did not bring the shipped compose.yaml back")
	}

	r := m.Detect(ctx)
	if c := r.Check(CheckDocker); c.State != StateMissing || !strings.Contains(c.Fix, "Docker Desktop") || !strings.Contains(c.Fix, "WSL 2") {
		t.Errorf("docker line: %+v", c)
	}
	if c := r.Check(CheckGPU); c.State != StateMissing {
		t.Errorf("gpu line without nvidia-smi: %+v", c)
	}
	if c := r.Check(CheckDisk); c.State == StateSkipped || !strings.Contains(c.Found, "GB free on") {
		t.Errorf("disk line: %+v", c)
	}
	if r.CanStart || r.Profile != ProfileCPU || r.OS != "windows" {
		t.Errorf("report: can start %v, profile %s, os %s", r.CanStart, r.Profile, r.OS)
	}
	err = m.Start(ctx, StartOptions{Models: []string{"parakeet-tdt-0.6b-v2"}}, nil)
	if apperr.CodeOf(err) != CodeDockerMissing || !strings.Contains(apperr.Message(err), "Docker Desktop") {
		t.Errorf("start without docker: %v (%s)", err, apperr.CodeOf(err))
	}
}

// removeOneByOne deletes the tree at root, deepest entries first.
func removeOneByOne(t *testing.T, root string) {
	var paths []string
	filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		if err := os.Remove(paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Logf("cleanup: %v", err)
		}
	}
}
