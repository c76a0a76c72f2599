// Package cache keeps the staged copies of the user's files: a folder of
// content-addressed files (see package staging) with a size cap, evicting
// the least recently used copies that no queued or running job still
// holds a lease on.
//
// A job asks for its input with Stage (or, after a restart, Acquire by
// hash), works only on the returned copy, and calls Release when it is
// finished or abandoned. Until then the copy is never evicted.
package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
)

const (
	// DefaultMaxBytes is the size cap when Config.MaxBytes is zero: about
	// 15 hours of CD-quality WAV.
	DefaultMaxBytes int64 = 10 << 30
	// orphanAge is how long a temporary file must have gone unwritten
	// before it counts as left behind by a crash (see
	// staging.RemoveOrphans).
	orphanAge = 15 * time.Minute
	// lowSpace is the free space below which Open warns.
	lowSpace = 2 << 30
)

// Config is the cache's settings.
type Config struct {
	// Dir is the cache folder (config.DefaultCacheDir, or the user's
	// choice in settings or --cache-dir). It is created if missing.
	Dir string
	// MaxBytes caps the size of the copies kept. Zero means
	// DefaultMaxBytes; negative means no cap. The cap evicts old copies;
	// it never refuses a new one, so a single file larger than the cap
	// is still staged.
	MaxBytes int64
	// RetryBudget is staging's bound on waiting for busy files, used by
	// Stage when the call's options leave it zero.
	RetryBudget time.Duration
}

// Cache is an open cache folder. It is safe for concurrent use.
type Cache struct {
	dir      string
	max      int64
	budget   time.Duration
	warnings []Warning

	mu   sync.Mutex
	pins map[string]int       // hash -> live leases
	used map[string]time.Time // hash -> last use by this process
	now  func() time.Time
}

// Open opens the cache folder at cfg.Dir: it creates it, removes the
// temporary files crashed copies left behind, checks that it can write
// there, and trims the cache to its cap. A folder it cannot write to is an
// error (the user must pick another one); low free space and a folder
// inside OneDrive are Warnings.
func Open(ctx context.Context, cfg Config) (*Cache, error) {
	if cfg.Dir == "" {
		return nil, apperr.New(apperr.CodeFile, nil, "no cache folder set; choose one in Settings or with --cache-dir")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, folderError(cfg.Dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, folderError(dir, err)
	}
	if _, err := staging.RemoveOrphans(dir, orphanAge); err != nil {
		return nil, folderError(dir, err)
	}
	if err := probeWritable(dir); err != nil {
		return nil, folderError(dir, err)
	}
	c := &Cache{
		dir:    dir,
		max:    cfg.MaxBytes,
		budget: cfg.RetryBudget,
		pins:   map[string]int{},
		used:   map[string]time.Time{},
		now:    time.Now,
	}
	if c.max == 0 {
		c.max = DefaultMaxBytes
	}
	c.warnings = checkFolder(dir, os.Getenv, freeSpace)
	if err := c.Trim(); err != nil {
		return nil, err
	}
	return c, nil
}

// folderError says that the cache folder cannot be used, and what to do.
func folderError(dir string, err error) error {
	why := err.Error()
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrPermission):
		why = "permission denied"
	case errors.As(err, &pe):
		why = pe.Err.Error()
	}
	return apperr.New(apperr.CodeFile, err,
		"cannot use the cache folder %s: %s; choose another one in Settings or with --cache-dir", dir, why)
}

// probeWritable writes, flushes and removes a small file in dir. Its name
// matches staging's temporary files, so a crash in between leaves nothing
// that RemoveOrphans would not clean up.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".staging-probe-*.tmp")
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte("nemo-transcribe can write here\n"))
	serr := f.Sync()
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	return errors.Join(werr, serr, cerr, rerr)
}

// Dir is the cache folder, as an absolute path.
func (c *Cache) Dir() string { return c.dir }

// Warnings are the problems Open noticed that do not stop the cache from
// working but that the user should hear about.
func (c *Cache) Warnings() []Warning { return append([]Warning(nil), c.warnings...) }

// Lease is a staged copy that will not be evicted until Release.
type Lease struct {
	staging.Staged
	c    *Cache
	once sync.Once
}

// Release says the job no longer needs the copy. It may then be evicted
// (right away, if the cache is over its cap). Calling it again does
// nothing.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.c.unpin(l.SHA256, l.Path)
		_ = l.c.Trim()
	})
}

// unpin drops one lease on sum and, given the copy's path, records the use.
func (c *Cache) unpin(sum, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pins[sum]--; c.pins[sum] <= 0 {
		delete(c.pins, sum)
	}
	if path != "" {
		c.touchLocked(sum, path)
	}
}

// Stage copies src into the cache (see staging.Stage) and leases the copy.
// Copies of other content may be evicted to make room; leased ones never
// are. opts.RetryBudget defaults to the cache's. Errors are
// *staging.Error.
func (c *Cache) Stage(ctx context.Context, src string, opts staging.Options) (*Lease, error) {
	if opts.RetryBudget == 0 {
		opts.RetryBudget = c.budget
	}
	// The content is pinned as soon as its hash is known, before staging
	// gives the copy its final name or finds the same content already
	// there: from then on no Trim, ours or another job's, can evict it.
	pinned := ""
	onHashed := opts.OnHashed
	opts.OnHashed = func(sum string) {
		c.mu.Lock()
		c.pins[sum]++
		c.mu.Unlock()
		pinned = sum
		if onHashed != nil {
			onHashed(sum)
		}
	}
	st, err := staging.Stage(ctx, src, c.dir, opts)
	if err != nil {
		if pinned != "" {
			c.unpin(pinned, "")
		}
		return nil, err
	}
	c.mu.Lock()
	c.touchLocked(st.SHA256, st.Path)
	c.mu.Unlock()
	_ = c.Trim()
	return &Lease{Staged: st, c: c}, nil
}

// Acquire leases the copy of the content with hash sha256Hex if the cache
// still has it, so a job queued before a restart can go on without
// copying its input again. The lease's Source is empty: the cache knows
// content, not where it came from. A copy that is gone gives an error
// wrapping fs.ErrNotExist: stage the source again.
func (c *Cache) Acquire(sha256Hex string) (*Lease, error) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if sum, ok := staging.ParseEntry(e.Name()); ok && sum == sha256Hex {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			st := staging.Staged{Path: filepath.Join(c.dir, e.Name()), SHA256: sum, Size: info.Size()}
			if l, ok := c.lease(st); ok {
				return l, nil
			}
		}
	}
	return nil, fmt.Errorf("content %s is no longer in the cache: %w", sha256Hex, fs.ErrNotExist)
}

// lease pins st if its file still exists: checked under the lock, so no
// Trim can evict it in between.
func (c *Cache) lease(st staging.Staged) (*Lease, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := os.Stat(st.Path); err != nil {
		return nil, false
	}
	c.pins[st.SHA256]++
	c.touchLocked(st.SHA256, st.Path)
	return &Lease{Staged: st, c: c}, true
}

// touchLocked records a use of the content. The file's modification time
// carries the order across restarts and processes; the map covers a file
// whose time cannot be set (on Windows, while a decoder holds it).
func (c *Cache) touchLocked(sum, path string) {
	now := c.now()
	c.used[sum] = now
	_ = os.Chtimes(path, now, now)
}

// Usage is what the cache holds.
type Usage struct {
	Files  int   // copies
	Bytes  int64 // their total size
	Leased int   // copies a job holds a lease on
	Max    int64 // the cap; negative: none
}

// Usage counts the copies in the cache folder.
func (c *Cache) Usage() (Usage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, err := c.scanLocked()
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Max: c.max}
	for _, e := range entries {
		u.Files++
		u.Bytes += e.size
		if c.pins[e.sum] > 0 {
			u.Leased++
		}
	}
	return u, nil
}

// Trim evicts copies, least recently used first, until the cache fits its
// cap, skipping leased copies and copies another program holds open. It
// also removes temporary files crashed copies left behind.
func (c *Cache) Trim() error {
	return c.trim(c.max)
}

// Clear evicts every copy no job holds a lease on (a "free up space"
// button).
func (c *Cache) Clear() error {
	return c.trim(0)
}

func (c *Cache) trim(limit int64) error {
	if limit < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = staging.RemoveOrphans(c.dir, orphanAge)
	entries, err := c.scanLocked()
	if err != nil {
		return err
	}
	var total int64
	for _, e := range entries {
		total += e.size
	}
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].used.Equal(entries[j].used) {
			return entries[i].used.Before(entries[j].used)
		}
		return entries[i].path < entries[j].path
	})
	for _, e := range entries {
		if total <= limit {
			break
		}
		if c.pins[e.sum] > 0 {
			continue
		}
		// A copy another process holds (say a second instance decoding
		// it) cannot be removed on Windows; it is skipped, not waited for.
		if os.Remove(e.path) == nil {
			total -= e.size
			delete(c.used, e.sum)
		}
	}
	return nil
}

type entry struct {
	path string
	sum  string
	size int64
	used time.Time
}

// scanLocked lists the copies in the folder with their last use.
func (c *Cache) scanLocked() ([]entry, error) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("reading the cache folder: %w", err)
	}
	var entries []entry
	for _, de := range des {
		sum, ok := staging.ParseEntry(de.Name())
		if !ok {
			continue
		}
		info, err := de.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		used := info.ModTime()
		if t, ok := c.used[sum]; ok && t.After(used) {
			used = t
		}
		entries = append(entries, entry{path: filepath.Join(c.dir, de.Name()), sum: sum, size: info.Size(), used: used})
	}
	return entries, nil
}
