package staging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeSource creates a file named name in a new folder and returns its path.
func writeSource(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(tempDir(t), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cacheFiles lists the names in dir, temporary files included.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// pattern fills n bytes with a sequence that does not repeat at buffer
// boundaries, so a misplaced buffer changes the hash.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ byte(i>>9) ^ seed
	}
	return b
}

func TestStageCopiesAndHashes(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
		wantExt    string
	}{
		{"small", "talk.wav", []byte("RIFF....WAVEfmt "), ".wav"},
		{"empty", "silence.mp3", nil, ".mp3"},
		{"spans several buffers", "long.flac", pattern(2*copyBufferSize+123, 1), ".flac"},
		{"extension lowercased", "Interview.M4A", []byte("m4a bytes"), ".m4a"},
		{"no extension", "recording", []byte("raw"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := writeSource(t, tt.file, tt.data)
			cache := filepath.Join(tempDir(t), "not", "yet", "there")
			var last [2]int64
			calls := 0
			opts := Options{Progress: func(done, total int64) { calls++; last = [2]int64{done, total} }}

			got, err := Stage(context.Background(), src, cache, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := Staged{
				Path:   filepath.Join(cache, hexSum(tt.data)+tt.wantExt),
				SHA256: hexSum(tt.data),
				Size:   int64(len(tt.data)),
				Source: src,
			}
			if got != want {
				t.Errorf("Stage = %+v, want %+v", got, want)
			}
			copy, err := os.ReadFile(got.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(copy, tt.data) {
				t.Errorf("copy differs from source (%d bytes, want %d)", len(copy), len(tt.data))
			}
			if names := cacheFiles(t, cache); len(names) != 1 {
				t.Errorf("cache holds %v, want only the copy", names)
			}
			if n := int64(len(tt.data)); n > 0 && last != [2]int64{n, n} {
				t.Errorf("last progress = %v, want [%d %d]", last, n, n)
			}
			if wantCalls := (len(tt.data) + copyBufferSize - 1) / copyBufferSize; calls != wantCalls {
				t.Errorf("progress called %d times, want %d", calls, wantCalls)
			}
		})
	}
}

func TestStageStoresContentOnce(t *testing.T) {
	dir := tempDir(t)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.wav", "same sound")
	b := write("b.WAV", "same sound")
	c := write("c.mp3", "same sound")

	tests := []struct {
		name    string
		sources []string
	}{
		{"same file twice", []string{a, a}},
		{"two names, same content", []string{a, b}},
		{"same content, other extension", []string{a, c}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := tempDir(t)
			var first Staged
			for i, src := range tt.sources {
				got, err := Stage(context.Background(), src, cache, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if got.SHA256 != hexSum([]byte("same sound")) {
					t.Errorf("SHA256 = %s", got.SHA256)
				}
				if got.Source != src {
					t.Errorf("Source = %q, want %q", got.Source, src)
				}
				if i == 0 {
					first = got
				} else if got.Path != first.Path {
					t.Errorf("second copy at %q, want %q", got.Path, first.Path)
				}
			}
			if names := cacheFiles(t, cache); len(names) != 1 {
				t.Errorf("cache holds %v, want one file", names)
			}
		})
	}
}

func TestStageNewContentAtSamePath(t *testing.T) {
	src := writeSource(t, "memo.wav", []byte("first take"))
	cache := tempDir(t)
	old, err := Stage(context.Background(), src, cache, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte("second take, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, err := Stage(context.Background(), src, cache, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Path == old.Path || fresh.SHA256 != hexSum([]byte("second take, longer")) {
		t.Errorf("second Stage = %+v, want a new hash name", fresh)
	}
	for path, want := range map[string]string{old.Path: "first take", fresh.Path: "second take, longer"} {
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", filepath.Base(path), got, err, want)
		}
	}
}

func TestStageLeavesSourceAlone(t *testing.T) {
	data := pattern(copyBufferSize+17, 3)
	src := writeSource(t, "keep.ogg", data)
	past := time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(src, past, past); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := Stage(context.Background(), src, tempDir(t), Options{}); err != nil {
		t.Fatal(err)
	}

	after, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() || after.Size() != before.Size() {
		t.Errorf("source changed: before %v %v %d, after %v %v %d",
			before.ModTime(), before.Mode(), before.Size(), after.ModTime(), after.Mode(), after.Size())
	}
	got, err := os.ReadFile(src)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("source bytes changed (err %v)", err)
	}
}

func TestStagePermanentErrors(t *testing.T) {
	folder := tempDir(t)
	existing := writeSource(t, "ok.wav", []byte("fine"))
	tests := []struct {
		name     string
		src      string
		script   map[string][]error
		wantOp   string
		wantIs   error
		wantText string
	}{
		{"missing file", filepath.Join(folder, "gone.wav"), nil, OpOpen, fs.ErrNotExist, "file not found"},
		{"a folder", folder, nil, OpOpen, errIsDir, "is a folder, not a file"},
		{"permission denied", existing, map[string][]error{"open": {permanent}}, OpOpen, fs.ErrPermission, "permission denied"},
		{"unreadable", existing, map[string][]error{"read": {permanent}}, OpRead, fs.ErrPermission, "permission denied"},
		{"cache not writable", existing, map[string][]error{"create": {permanent}}, OpWrite, fs.ErrPermission, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := newFaultFS(tt.script)
			opts, timer := testOptions(fsys)
			cache := tempDir(t)

			_, err := Stage(context.Background(), tt.src, cache, opts)

			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Stage error = %v (%T), want *Error", err, err)
			}
			if e.Op != tt.wantOp || e.Attempts != 1 || !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %+v, want op %s, 1 attempt, wrapping %v", e, tt.wantOp, tt.wantIs)
			}
			if n := fsys.calls("open"); n != 1 {
				t.Errorf("opened %d times, want 1", n)
			}
			if len(timer.waits) != 0 {
				t.Errorf("waited %v, want no waiting", timer.waits)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantText) || (tt.wantOp != OpWrite && !strings.Contains(msg, tt.src)) {
				t.Errorf("message %q should name %q and say %q", msg, tt.src, tt.wantText)
			}
			if strings.Contains(msg, "tried") {
				t.Errorf("message %q talks about retries that never happened", msg)
			}
			if names := cacheFiles(t, cache); len(names) != 0 {
				t.Errorf("cache holds %v after a failure", names)
			}
		})
	}
}

func TestStageRetriesBusyFile(t *testing.T) {
	data := pattern(copyBufferSize+5, 9)
	tests := []struct {
		name         string
		script       map[string][]error
		wantOpens    int
		wantRenames  int
		wantAttempts int // of the failing step; 0: success
		wantErr      error
		wantRetries  []string // the step of each retry notification
	}{
		{"open busy twice", map[string][]error{"open": times(2, busy)}, 3, 1, 0, nil, []string{OpOpen, OpOpen}},
		{"read busy mid-copy", map[string][]error{"read": {nil, busy}}, 2, 1, 0, nil, []string{OpRead}},
		{"rename busy twice", map[string][]error{"rename": times(2, busy)}, 1, 3, 0, nil, []string{OpRename, OpRename}},
		{"busy, then denied", map[string][]error{"open": {busy, permanent}}, 2, 0, 2, fs.ErrPermission, []string{OpOpen}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := writeSource(t, "held.wav", data)
			cache := tempDir(t)
			fsys := newFaultFS(tt.script)
			opts, timer := testOptions(fsys)
			var retries []Retry
			opts.OnRetry = func(r Retry) { retries = append(retries, r) }

			got, err := Stage(context.Background(), src, cache, opts)

			var ops []string
			var waited time.Duration
			for i, r := range retries {
				ops = append(ops, r.Op)
				if !errors.Is(r.Err, busy) || r.Delay <= 0 || r.Waited != waited {
					t.Errorf("retry %d = %+v, want busy, a delay, waited %v before", i, r, waited)
				}
				if r.Op != OpRename && r.Path != src {
					t.Errorf("retry %d names %q, want the source", i, r.Path)
				}
				waited += r.Delay
			}
			if !slices.Equal(ops, tt.wantRetries) {
				t.Errorf("retry notifications for %v, want %v", ops, tt.wantRetries)
			}
			if waited != timer.total() {
				t.Errorf("notified delays add up to %v, waited %v", waited, timer.total())
			}

			if n := fsys.calls("open"); n != tt.wantOpens {
				t.Errorf("opened %d times, want %d", n, tt.wantOpens)
			}
			if n := fsys.calls("rename"); n != tt.wantRenames {
				t.Errorf("renamed %d times, want %d", n, tt.wantRenames)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if copy, _ := os.ReadFile(got.Path); !bytes.Equal(copy, data) || got.SHA256 != hexSum(data) {
					t.Errorf("copy after retries is wrong (%d bytes, hash %s)", len(copy), got.SHA256)
				}
				if names := cacheFiles(t, cache); len(names) != 1 {
					t.Errorf("cache holds %v, want only the copy", names)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tt.wantErr) || e.Attempts != tt.wantAttempts {
				t.Fatalf("error = %v (%+v), want %v after %d attempts", err, e, tt.wantErr, tt.wantAttempts)
			}
			if want := fmt.Sprintf("tried %d times", tt.wantAttempts); !strings.Contains(err.Error(), want) {
				t.Errorf("message %q should say %q", err, want)
			}
		})
	}
}

func TestStageBusyBudgetExhausted(t *testing.T) {
	src := writeSource(t, "locked.wav", []byte("held by a player"))
	cache := tempDir(t)
	fsys := newFaultFS(map[string][]error{"open": times(1000, busy)})
	opts, timer := testOptions(fsys)

	_, err := Stage(context.Background(), src, cache, opts)

	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, busy) {
		t.Fatalf("error = %v, want *Error wrapping %v", err, busy)
	}
	if e.Waited != defaultBudget || timer.total() != defaultBudget {
		t.Errorf("waited %v (timer %v), want exactly the default budget %v", e.Waited, timer.total(), defaultBudget)
	}
	if e.Attempts < 4 || e.Attempts != fsys.calls("open") || e.Attempts != len(timer.waits)+1 {
		t.Errorf("attempts = %d, opens = %d, waits = %d", e.Attempts, fsys.calls("open"), len(timer.waits))
	}
	for i := 1; i < len(timer.waits)-1; i++ {
		if timer.waits[i] < timer.waits[i-1] && timer.waits[i] < maxStepDelay {
			t.Errorf("waits %v do not back off", timer.waits)
		}
	}
	msg := err.Error()
	for _, want := range []string{
		src,
		"another program has the file open",
		"antivirus",
		fmt.Sprintf("tried %d times over 3.0s", e.Attempts),
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if names := cacheFiles(t, cache); len(names) != 0 {
		t.Errorf("cache holds %v after a failure", names)
	}
}

// TestStageBusyRealClock checks that the budget bounds real waiting too.
func TestStageBusyRealClock(t *testing.T) {
	src := writeSource(t, "locked.wav", []byte("x"))
	fsys := newFaultFS(map[string][]error{"open": times(1000, busy)})
	const budget = 40 * time.Millisecond
	opts := Options{RetryBudget: budget, fs: fsys, baseDelay: 5 * time.Millisecond}

	start := time.Now()
	_, err := Stage(context.Background(), src, tempDir(t), opts)
	elapsed := time.Since(start)

	var e *Error
	if !errors.As(err, &e) || e.Waited != budget {
		t.Fatalf("error = %v, want busy after waiting %v", err, budget)
	}
	if elapsed < budget || elapsed > budget+time.Second {
		t.Errorf("took %v for a budget of %v", elapsed, budget)
	}
}

func TestStageNegativeBudgetTriesOnce(t *testing.T) {
	src := writeSource(t, "locked.wav", []byte("x"))
	fsys := newFaultFS(map[string][]error{"open": times(10, busy)})
	opts, _ := testOptions(fsys)
	opts.RetryBudget = -1

	_, err := Stage(context.Background(), src, tempDir(t), opts)

	if !errors.Is(err, busy) || fsys.calls("open") != 1 || !strings.Contains(err.Error(), "tried once") {
		t.Errorf("error = %v after %d opens, want busy after one", err, fsys.calls("open"))
	}
}

func TestStageCancelled(t *testing.T) {
	data := pattern(4*copyBufferSize, 5)
	tests := []struct {
		name   string
		script map[string][]error
		// setup arranges for the context to be cancelled at the right moment.
		setup     func(cancel context.CancelFunc, opts *Options)
		wantOpens int
	}{
		{
			name: "before the start",
			setup: func(cancel context.CancelFunc, opts *Options) {
				cancel()
			},
			wantOpens: 0,
		},
		{
			name: "mid-copy, from the progress callback",
			setup: func(cancel context.CancelFunc, opts *Options) {
				opts.Progress = func(done, total int64) {
					if done >= copyBufferSize {
						cancel()
					}
				}
			},
			wantOpens: 1,
		},
		{
			name:   "while waiting for a busy file",
			script: map[string][]error{"open": times(1000, busy)},
			setup: func(cancel context.CancelFunc, opts *Options) {
				opts.timer = cancellingTimer(cancel)
			},
			wantOpens: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := writeSource(t, "long.wav", data)
			cache := tempDir(t)
			fsys := newFaultFS(tt.script)
			opts, _ := testOptions(fsys)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.setup(cancel, &opts)

			_, err := Stage(ctx, src, cache, opts)

			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want *Error wrapping context.Canceled", err)
			}
			if !strings.Contains(err.Error(), "cancelled") || !strings.Contains(err.Error(), src) {
				t.Errorf("message %q should name the file and say cancelled", err)
			}
			if n := fsys.calls("open"); n != tt.wantOpens {
				t.Errorf("opened %d times, want %d", n, tt.wantOpens)
			}
			if names := cacheFiles(t, cache); len(names) != 0 {
				t.Errorf("cache holds %v after cancellation, want nothing", names)
			}
		})
	}
}

// cancellingTimer cancels on the first wait and never fires, as if the user
// gave up while staging waited for a busy file.
type cancellingTimer context.CancelFunc

func (c cancellingTimer) After(time.Duration) <-chan time.Time {
	c()
	return make(chan time.Time)
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{
			&Error{Op: OpOpen, Path: "/m/a.wav", Attempts: 1, Err: &fs.PathError{Op: "open", Path: "/m/a.wav", Err: fs.ErrNotExist}},
			`cannot open "/m/a.wav": file not found`,
		},
		{
			// Backslashes stay single, as Windows users write them.
			&Error{Op: OpOpen, Path: `C:\Users\Zoë\Aufnahme 1.wav`, Attempts: 1, Err: fs.ErrNotExist},
			`cannot open "C:\Users\Zoë\Aufnahme 1.wav": file not found`,
		},
		{
			&Error{Op: OpOpen, Path: "/m", Attempts: 1, Err: errIsDir},
			`cannot open "/m": is a folder, not a file`,
		},
		{
			&Error{Op: OpRename, Path: "/c/x.wav", Attempts: 7, Waited: 3 * time.Second, Err: &fs.PathError{Op: "rename", Path: "/c/x.wav", Err: busy}},
			`cannot save "/c/x.wav": another program has the file open — often antivirus, OneDrive or a media player; close it or wait and retry (tried 7 times over 3.0s)`,
		},
		{
			&Error{Op: OpRead, Path: "/m/a.wav", Attempts: 2, Waited: 75 * time.Millisecond, Err: permanent},
			`cannot read "/m/a.wav": permission denied (tried 2 times over 75ms)`,
		},
		{
			&Error{Op: OpWrite, Path: "/c", Attempts: 1, Err: errors.New("no space left on device")},
			`cannot write "/c": no space left on device`,
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q\nwant      %q", got, tt.want)
		}
	}
}

func TestTransientIsByNumber(t *testing.T) {
	for _, errno := range transientErrnos {
		if !isTransient(&fs.PathError{Op: "open", Path: "x", Err: errno}) {
			t.Errorf("%v (%d) not transient", errno, uintptr(errno))
		}
	}
	for _, err := range []error{
		fs.ErrNotExist,
		permanent,
		errors.New(busy.Error()), // same words, no number
		context.Canceled,
	} {
		if isTransient(err) {
			t.Errorf("%v counted as transient", err)
		}
	}
	if slices.Contains(transientErrnos, permanent) {
		t.Error("permission denied must not be transient")
	}
}
