package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
)

// clock is a fake time that moves a second per reading, so every use of
// the cache is strictly later than the one before.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func openTest(t *testing.T, max int64) *Cache {
	t.Helper()
	c, err := Open(context.Background(), Config{Dir: filepath.Join(tempDir(t), "cache"), MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now = clk.now
	return c
}

// source writes n bytes of content named by seed into a new file.
func source(t *testing.T, name string, n int, seed byte) string {
	t.Helper()
	p := filepath.Join(tempDir(t), name)
	data := bytes.Repeat([]byte{seed}, n)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func stage(t *testing.T, c *Cache, src string) *Lease {
	t.Helper()
	l, err := c.Stage(context.Background(), src, staging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestStageLeasesAndDedups(t *testing.T) {
	c := openTest(t, -1)
	a := source(t, "a.wav", 100, 'a')
	b := source(t, "b copy.wav", 100, 'a')

	la := stage(t, c, a)
	lb := stage(t, c, b)

	if la.Path != lb.Path || la.SHA256 != lb.SHA256 || la.Source != a || lb.Source != b {
		t.Errorf("leases %+v and %+v, want one copy for both sources", la.Staged, lb.Staged)
	}
	u, err := c.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u != (Usage{Files: 1, Bytes: 100, Leased: 1, Max: -1}) {
		t.Errorf("usage = %+v", u)
	}
	la.Release()
	la.Release() // a second release must not drop lb's pin
	if err := c.Clear(); err != nil {
		t.Fatal(err)
	}
	if !exists(lb.Path) {
		t.Fatal("copy evicted while still leased once")
	}
	lb.Release()
	if err := c.Clear(); err != nil {
		t.Fatal(err)
	}
	if exists(lb.Path) {
		t.Error("copy kept after every lease was released and the cache cleared")
	}
}

func TestEvictionIsLeastRecentlyUsedAndSparesLeases(t *testing.T) {
	tests := []struct {
		name string
		// steps: "+x" stages x and keeps the lease, "x" stages and
		// releases it right away, "-x" releases x's lease.
		steps    []string
		max      int64
		wantKept []string
	}{
		{"oldest goes first", []string{"a", "b", "c", "d"}, 3000, []string{"b", "c", "d"}},
		{"leased copies stay", []string{"+a", "b", "c", "d"}, 3000, []string{"a", "c", "d"}},
		{"a new use makes a copy young", []string{"a", "b", "c", "a", "d"}, 3000, []string{"a", "c", "d"}},
		{"releasing trims", []string{"+a", "+b", "+c", "+d", "-a"}, 3000, []string{"b", "c", "d"}},
		{"all leased: over the cap", []string{"+a", "+b", "+c", "+d"}, 3000, []string{"a", "b", "c", "d"}},
		{"no cap", []string{"a", "b", "c", "d"}, -1, []string{"a", "b", "c", "d"}},
		{"everything fits", []string{"a", "b", "c", "d"}, 4000, []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t, tt.max)
			srcs := map[string]string{}
			leases := map[string]*Lease{}
			paths := map[string]string{}
			for _, step := range tt.steps {
				name := strings.TrimLeft(step, "+-")
				if strings.HasPrefix(step, "-") {
					leases[name].Release()
					continue
				}
				if srcs[name] == "" {
					srcs[name] = source(t, name+".wav", 1000, name[0])
				}
				l := stage(t, c, srcs[name])
				paths[name] = l.Path
				if strings.HasPrefix(step, "+") {
					leases[name] = l
				} else {
					l.Release()
				}
			}
			var kept []string
			for name, p := range paths {
				if exists(p) {
					kept = append(kept, name)
				}
			}
			slices.Sort(kept)
			if !slices.Equal(kept, tt.wantKept) {
				t.Errorf("kept %v, want %v", kept, tt.wantKept)
			}
		})
	}
}

func TestFileLargerThanCapIsStaged(t *testing.T) {
	c := openTest(t, 1000)
	small := stage(t, c, source(t, "small.wav", 600, 's'))
	small.Release()

	big := stage(t, c, source(t, "big.wav", 5000, 'b'))

	if got, err := os.ReadFile(big.Path); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{'b'}, 5000)) {
		t.Fatalf("big copy unreadable or wrong (%v)", err)
	}
	if exists(small.Path) {
		t.Error("the small copy should have made room")
	}
	if err := c.Trim(); err != nil || !exists(big.Path) {
		t.Errorf("leased big copy evicted by Trim (%v)", err)
	}
	big.Release()
	if exists(big.Path) {
		t.Error("released big copy still there although it alone exceeds the cap")
	}
}

func TestAcquire(t *testing.T) {
	c := openTest(t, -1)
	l := stage(t, c, source(t, "talk.wav", 300, 't'))
	l.Release()

	again, err := c.Acquire(l.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if again.Path != l.Path || again.Size != 300 {
		t.Errorf("Acquire = %+v, want %+v", again.Staged, l.Staged)
	}
	if err := c.Clear(); err != nil || !exists(l.Path) {
		t.Errorf("acquired copy evicted (%v)", err)
	}
	again.Release()
	if err := c.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire(l.SHA256); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Acquire of evicted content: %v, want fs.ErrNotExist", err)
	}
}

// TestConcurrentJobsNeverLoseTheirCopy stages many files at once into a
// cache far too small for them: every job must find its own copy intact
// for as long as it holds the lease.
func TestConcurrentJobsNeverLoseTheirCopy(t *testing.T) {
	c := openTest(t, 2500)
	const jobs = 24
	srcs := make([]string, jobs)
	for i := range srcs {
		// Some jobs share content, so leases overlap on one copy.
		srcs[i] = source(t, fmt.Sprintf("job %d.wav", i), 1000+i%8, byte('A'+i%8))
	}
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := c.Stage(context.Background(), src, staging.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer l.Release()
			for range 3 {
				got, err := os.ReadFile(l.Path)
				if err != nil || len(got) != 1000+i%8 || got[0] != byte('A'+i%8) {
					errs <- fmt.Errorf("job %d: copy lost or wrong while leased (%v)", i, err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	u, err := c.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.Leased != 0 || u.Bytes > 2500 {
		t.Errorf("after all jobs: %+v, want nothing leased and within the cap", u)
	}
}

func TestOpenCleansOrphansAndChecksFolder(t *testing.T) {
	dir := filepath.Join(tempDir(t), "cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, ".staging-123.tmp")
	live := filepath.Join(dir, ".staging-456.tmp")
	for _, p := range []string{orphan, live} {
		if err := os.WriteFile(p, []byte("half a copy"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}

	c, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}

	if exists(orphan) || !exists(live) {
		t.Errorf("orphan kept = %v, live temp kept = %v; want false, true", exists(orphan), exists(live))
	}
	if u, _ := c.Usage(); u.Max != DefaultMaxBytes {
		t.Errorf("cap = %d, want the default %d", u.Max, DefaultMaxBytes)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after Open, want only the live temp", len(entries))
	}
}

func TestOpenUnusableFolder(t *testing.T) {
	file := filepath.Join(tempDir(t), "a file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "cache")} {
		_, err := Open(context.Background(), Config{Dir: dir})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", dir)
		}
		msg := err.Error()
		if !strings.Contains(msg, "cannot use the cache folder") || !strings.Contains(msg, "choose another one") || !strings.Contains(msg, dir) {
			t.Errorf("message %q should name %s and say what to do", msg, dir)
		}
	}
	if _, err := Open(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "no cache folder") {
		t.Errorf("empty Dir: %v", err)
	}
}

func TestStageUsesCacheRetryBudget(t *testing.T) {
	c, err := Open(context.Background(), Config{Dir: tempDir(t), RetryBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Stage(context.Background(), filepath.Join(tempDir(t), "missing.wav"), staging.Options{})
	var se *staging.Error
	if !errors.As(err, &se) || se.Op != staging.OpOpen || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want a *staging.Error for the missing source", err)
	}
}
