//go:build windows

package staging

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/nemo-transcribe/nemo-transcribe/backend/internal/testfs"
)

// These tests run on Windows, or on Linux under Wine through
// scripts/test-windows.sh: another process really holds the file, and the
// errors come from the (emulated) Windows kernel, not from a fault layer.

const (
	holdBriefly = time.Second      // well inside generous: staging must outlast it
	generous    = 20 * time.Second // slow CI machines and a cold Wine must not make it flaky
	tight       = 800 * time.Millisecond
)

// retryLog records retry notifications and progress from Stage's callbacks.
type retryLog struct {
	retries  []Retry
	progress [][2]int64
}

func (l *retryLog) options(budget time.Duration) Options {
	return Options{
		RetryBudget: budget,
		OnRetry:     func(r Retry) { l.retries = append(l.retries, r) },
		Progress:    func(done, total int64) { l.progress = append(l.progress, [2]int64{done, total}) },
	}
}

// checkSharingRetries asserts that every retry was for a sharing violation
// on path in step op.
func (l *retryLog) checkSharingRetries(t *testing.T, op, path string) {
	t.Helper()
	if len(l.retries) == 0 {
		t.Fatal("no retry notifications while the file was held")
	}
	t.Logf("%d retries; the first for %T: %v", len(l.retries), l.retries[0].Err, l.retries[0].Err)
	for i, r := range l.retries {
		if r.Op != op || r.Path != path || r.Attempt != i+1 || !errors.Is(r.Err, windows.ERROR_SHARING_VIOLATION) {
			t.Errorf("retry %d = %+v, want a sharing violation in %s of %s", i, r, op, path)
		}
	}
}

func mustBeHeld(t *testing.T, path string) {
	t.Helper()
	_, err := os.ReadFile(path)
	if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		t.Fatalf("reading a held file: %v, want a sharing violation (is the holder working?)", err)
	}
}

func TestHeldSourceReleasedWithinBudget(t *testing.T) {
	data := pattern(3*copyBufferSize+1234, 7)
	src := writeSource(t, "Aufnahme vom Montag.wav", data)
	cache := tempDir(t)
	h := holdFile(t, src, 0, holdBriefly)
	mustBeHeld(t, src)
	var log retryLog

	got, err := Stage(context.Background(), src, cache, log.options(generous))

	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(h.heldAt); waited < holdBriefly/2 {
		t.Errorf("Stage finished %v after the file was held for %v: it cannot have waited", waited, holdBriefly)
	}
	log.checkSharingRetries(t, OpOpen, src)
	if copy, err := os.ReadFile(got.Path); err != nil || !bytes.Equal(copy, data) || got.SHA256 != hexSum(data) {
		t.Errorf("copy wrong after the holder let go (%v)", err)
	}
	n := int64(len(data))
	if len(log.progress) == 0 || log.progress[len(log.progress)-1] != [2]int64{n, n} {
		t.Errorf("progress %v, want it to end at %d of %d", log.progress, n, n)
	}
	if names := cacheFiles(t, cache); len(names) != 1 {
		t.Errorf("cache holds %v, want only the copy", names)
	}
}

func TestHeldSourcePastBudget(t *testing.T) {
	data := []byte("a recording a scanner will not let go of")
	src := writeSource(t, "gesperrt.wav", data)
	cache := tempDir(t)
	h := holdFile(t, src, 0, 0)
	var log retryLog

	start := time.Now()
	_, err := Stage(context.Background(), src, cache, log.options(tight))
	elapsed := time.Since(start)

	var e *Error
	if !errors.As(err, &e) || e.Op != OpOpen || !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
		t.Fatalf("error = %v, want a sharing violation opening the source", err)
	}
	if e.Waited != tight || e.Attempts != len(log.retries)+1 || e.Attempts < 3 {
		t.Errorf("waited %v over %d attempts (%d notifications), want the whole budget %v", e.Waited, e.Attempts, len(log.retries), tight)
	}
	if elapsed < tight {
		t.Errorf("gave up after %v, before the budget of %v", elapsed, tight)
	}
	log.checkSharingRetries(t, OpOpen, src)
	for _, want := range []string{src, "another program has the file open", "antivirus", "tried " + strconv.Itoa(e.Attempts) + " times over"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if names := cacheFiles(t, cache); len(names) != 0 {
		t.Errorf("cache holds %v after giving up", names)
	}
	h.release()
	if after, err := os.ReadFile(src); err != nil || !bytes.Equal(after, data) {
		t.Errorf("source changed (%v)", err)
	}
}

func TestHeldOutputReleasedWithinBudget(t *testing.T) {
	dir := tempDir(t)
	dst := filepath.Join(dir, "Vortrag.srt")
	if err := os.WriteFile(dst, []byte("old subtitles"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := holdFile(t, dst, 0, holdBriefly)
	mustBeHeld(t, dst)
	var log retryLog

	err := WriteFileAtomic(context.Background(), dst, []byte("new subtitles"), 0o644, log.options(generous))

	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(h.heldAt); waited < holdBriefly/2 {
		t.Errorf("finished %v after the file was held for %v: it cannot have waited", waited, holdBriefly)
	}
	log.checkSharingRetries(t, OpRename, dst)
	if got, err := os.ReadFile(dst); err != nil || string(got) != "new subtitles" {
		t.Errorf("output = %q, %v; want the new subtitles", got, err)
	}
	if names := cacheFiles(t, dir); !slices.Equal(names, []string{"Vortrag.srt"}) {
		t.Errorf("folder holds %v, want only the output", names)
	}
}

func TestHeldOutputPastBudget(t *testing.T) {
	dir := tempDir(t)
	dst := filepath.Join(dir, "Vortrag.vtt")
	if err := os.WriteFile(dst, []byte("WEBVTT\n\nold"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := holdFile(t, dst, 0, 0)
	var log retryLog

	err := WriteFileAtomic(context.Background(), dst, []byte("WEBVTT\n\nnew"), 0o644, log.options(tight))

	var e *Error
	if !errors.As(err, &e) || e.Op != OpRename || !errors.Is(err, windows.ERROR_SHARING_VIOLATION) || e.Waited != tight {
		t.Fatalf("error = %v (%+v), want a sharing violation saving the output after %v", err, e, tight)
	}
	log.checkSharingRetries(t, OpRename, dst)
	for _, want := range []string{"cannot save", dst, "another program has the file open", "media player", "tried"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	h.release()
	if got, err := os.ReadFile(dst); err != nil || string(got) != "WEBVTT\n\nold" {
		t.Errorf("output = %q, %v; want the old file untouched", got, err)
	}
	if names := cacheFiles(t, dir); !slices.Equal(names, []string{"Vortrag.vtt"}) {
		t.Errorf("folder holds %v, want only the old output", names)
	}
}

// TestSharedHolderDoesNotBlock: a player that opens the file for reading
// and writing but shares both (what most do) must not make us wait.
func TestSharedHolderDoesNotBlock(t *testing.T) {
	data := pattern(copyBufferSize+9, 1)
	src := writeSource(t, "playing.wav", data)
	holdFile(t, src, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, 0)
	var log retryLog

	got, err := Stage(context.Background(), src, tempDir(t), log.options(tight))

	if err != nil || len(log.retries) != 0 || got.SHA256 != hexSum(data) {
		t.Errorf("Stage = %+v, %v after %d retries; want the copy at once", got, err, len(log.retries))
	}
}

// TestSourceStaysFreeWhileStaging: while Stage reads the source, other
// programs can still open it for writing, rename it and delete it.
func TestSourceStaysFreeWhileStaging(t *testing.T) {
	data := pattern(3*copyBufferSize, 3)
	src := writeSource(t, "in use.wav", data)
	moved := src + ".moved"
	var during []error
	opts := Options{Progress: func(done, total int64) {
		if done != copyBufferSize {
			return
		}
		// Stage has the file open right now.
		f, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err == nil {
			err = f.Close()
		}
		during = append(during, err, os.Rename(src, moved))
	}}

	got, err := Stage(context.Background(), src, tempDir(t), opts)

	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 2 || during[0] != nil || during[1] != nil {
		t.Fatalf("while staging: open for writing, rename = %v; want both to work", during)
	}
	if got.SHA256 != hexSum(data) {
		t.Error("copy differs after the source was renamed mid-copy")
	}
	if err := os.Remove(moved); err != nil {
		t.Errorf("deleting the source after staging: %v", err)
	}
}

// TestRenameErrorSeesHolder: Windows reports a replaced file that another
// program holds as "access denied"; renameError must find the sharing
// violation behind it, and leave real denials alone.
func TestRenameErrorSeesHolder(t *testing.T) {
	dir := tempDir(t)
	held := filepath.Join(dir, "held.srt")
	free := filepath.Join(dir, "free.srt")
	for _, p := range []string{held, free} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	holdFile(t, held, windows.FILE_SHARE_READ, 0)
	denied := &os.LinkError{Op: "rename", Old: "a", New: held, Err: windows.ERROR_ACCESS_DENIED}

	if err := renameError(denied, held); !errors.Is(err, windows.ERROR_SHARING_VIOLATION) || !isTransient(err) {
		t.Errorf("held file: %v, want a sharing violation", err)
	}
	if err := renameError(denied, free); err != denied {
		t.Errorf("free file: %v, want the original denial", err)
	}
	other := &os.LinkError{Op: "rename", Old: "a", New: held, Err: windows.ERROR_PATH_NOT_FOUND}
	if err := renameError(other, held); err != other {
		t.Errorf("other error: %v, want it unchanged", err)
	}
}

// TestUNCShare stages from and writes to a network share. Wine maps
// \\server\share to a folder through dosdevices/unc; scripts/test-windows.sh
// sets one up and names it in STAGING_TEST_UNC.
func TestUNCShare(t *testing.T) {
	share := os.Getenv("STAGING_TEST_UNC")
	if share == "" {
		t.Skip("STAGING_TEST_UNC names no share (scripts/test-windows.sh sets one up)")
	}
	dir, err := os.MkdirTemp(share, "staging-unc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testfs.RemoveTree(dir); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
	})
	deep := dir
	for len(deep) < 300 {
		deep = filepath.Join(deep, "Ordner mit Ümlauten und Leerzeichen")
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	data := pattern(copyBufferSize+77, 5)
	for _, src := range []string{filepath.Join(dir, "Sitzung 1.wav"), filepath.Join(deep, "Sitzung 2.wav")} {
		if err := os.WriteFile(src, data, 0o444); err != nil {
			t.Fatal(err)
		}
		got, err := Stage(context.Background(), src, tempDir(t), Options{})
		if err != nil {
			t.Fatalf("staging %d-character UNC path: %v", len(src), err)
		}
		if copy, err := os.ReadFile(got.Path); err != nil || !bytes.Equal(copy, data) {
			t.Errorf("copy of %s differs (%v)", src, err)
		}
		out := strings.TrimSuffix(src, ".wav") + ".srt"
		if err := WriteFileAtomic(context.Background(), out, []byte("1\n"), 0o644, Options{}); err != nil {
			t.Errorf("writing the output next to it: %v", err)
		}
	}
}

func TestOpenSourceErrors(t *testing.T) {
	dir := tempDir(t)
	tests := []struct {
		name   string
		path   string
		wantIs error
	}{
		{"missing file", filepath.Join(dir, "gone.wav"), fs.ErrNotExist},
		{"missing folder", filepath.Join(dir, "nope", "gone.wav"), fs.ErrNotExist},
		{"NUL in name", "bad\x00name.wav", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := openSource(tt.path)
			if err == nil {
				f.Close()
				t.Fatal("opened")
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != tt.path || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Errorf("error = %v, want a PathError for %q wrapping %v", err, tt.path, tt.wantIs)
			}
		})
	}
}
