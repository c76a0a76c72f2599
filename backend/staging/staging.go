// Package staging copies the user's files into the app's cache before any
// other step touches them, and writes exports atomically.
//
// On Windows, antivirus scanners, OneDrive and media players hold fresh
// files open for a moment ("WinError 32 … being used by another process").
// Staging waits such moments out with bounded retries, reads the source
// exactly once per attempt, never changes it, and leaves the rest of the
// pipeline a private, content-addressed copy that nobody else holds.
//
// Stage is the mechanism; package cache adds the policy on top (size cap,
// least-recently-used eviction, leases for queued and running jobs).
package staging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/avast/retry-go/v4"
)

// Staged is a source file's copy in the cache.
type Staged struct {
	Path   string // the cached copy: <cacheDir>/<sha256><extension>
	SHA256 string // hex SHA-256 of the content
	Size   int64  // bytes copied
	Source string // the user's original path
}

// Options tunes Stage and WriteFileAtomic. The zero value is ready to use.
type Options struct {
	// RetryBudget bounds the total time spent waiting for a busy file
	// across all steps of one call. Zero means 3 s; negative means try
	// each step once.
	RetryBudget time.Duration
	// Progress, if set, is called by Stage after each block with the
	// bytes copied so far and the source's size. A retried copy starts
	// again from zero. Calls come from the goroutine that called Stage's
	// copy loop, one at a time, and never after Stage returns.
	Progress func(done, total int64)
	// OnRetry, if set, is called before each wait for a busy file, so a
	// user can be told why nothing moves ("waiting for another program
	// to let go of talk.wav").
	OnRetry func(Retry)
	// OnHashed, if set, is called by Stage once the copy is complete and
	// its hash known, before the copy takes its final name or is matched
	// with one already in the cache. Package cache leases the content
	// there, so no eviction can slip in between.
	OnHashed func(sha256Hex string)

	// For tests.
	fs        fileSystem    // nil: the real file system
	timer     retry.Timer   // nil: real waiting
	baseDelay time.Duration // first backoff step; 0: defaultBaseDelay
}

// Retry describes a failed attempt that is about to be tried again.
type Retry struct {
	Op      string        // the step that failed: one of the Op constants
	Path    string        // the file it failed on
	Attempt int           // how many attempts of this step have failed so far
	Delay   time.Duration // the wait before the next attempt
	Waited  time.Duration // time already spent waiting in this call
	Err     error         // the transient error
}

func (o Options) fileSystem() fileSystem {
	if o.fs == nil {
		return osFS{}
	}
	return o.fs
}

const (
	cacheDirPerm = 0o700
	tempPrefix   = ".staging-"
	tempSuffix   = ".tmp"
	tempPattern  = tempPrefix + "*" + tempSuffix
	maxExtLen    = 12 // ".opus", ".webm", ".flac"…; anything longer is not a real extension
)

// Stage copies src into cacheDir and returns the copy. The copy is named
// after its SHA-256 and src's lowercased extension; content already in the
// cache (under any extension) is not stored again, so the same bytes are
// stored once however often and under whatever name they arrive. The
// source is opened read-only, shared with other programs, and never
// modified, moved or deleted. A failed or cancelled Stage leaves no file
// under a final name. Errors are *Error.
func Stage(ctx context.Context, src, cacheDir string, opts Options) (Staged, error) {
	fsys := opts.fileSystem()
	if err := ctx.Err(); err != nil {
		return Staged{}, &Error{Op: OpOpen, Path: src, Err: err}
	}
	if err := fsys.MkdirAll(cacheDir, cacheDirPerm); err != nil {
		return Staged{}, &Error{Op: OpMkdir, Path: cacheDir, Attempts: 1, Err: err}
	}
	r := newRetrier(ctx, opts)

	var tmp copied
	err := r.do(OpOpen, src, func() *Error {
		var err *Error
		tmp, err = copyToTemp(ctx, fsys, src, cacheDir, opts.Progress)
		return err
	})
	if err != nil {
		return Staged{}, err
	}

	sum := hex.EncodeToString(tmp.hash.Sum(nil))
	if opts.OnHashed != nil {
		opts.OnHashed(sum)
	}
	final := filepath.Join(cacheDir, sum+entryExt(src))
	err = r.do(OpRename, final, func() *Error {
		// Checked on every attempt: another Stage of the same content
		// may have finished while this one waited.
		if existing, ok := findEntry(fsys, cacheDir, sum, tmp.size); ok {
			_ = fsys.Remove(tmp.path)
			final = existing
			return nil
		}
		if err := fsys.Rename(tmp.path, final); err != nil {
			// Windows will not replace a file someone has open: a
			// concurrent Stage of the same content that got there
			// first and is being read. Its copy is as good as ours.
			if existing, ok := findEntry(fsys, cacheDir, sum, tmp.size); ok {
				_ = fsys.Remove(tmp.path)
				final = existing
				return nil
			}
			return &Error{Op: OpRename, Path: final, Err: renameError(err, final)}
		}
		return nil
	})
	if err != nil {
		_ = fsys.Remove(tmp.path)
		return Staged{}, err
	}
	syncDir(cacheDir)
	return Staged{Path: final, SHA256: sum, Size: tmp.size, Source: src}, nil
}

// entryExt is the extension a cache entry gets: src's, lowercased, when it
// is short ASCII letters and digits. Anything else is dropped: decoders
// sniff the content, and the name must stay short and portable.
func entryExt(src string) string {
	ext := strings.ToLower(filepath.Ext(src))
	if len(ext) < 2 || len(ext) > maxExtLen {
		return ""
	}
	for _, c := range ext[1:] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ""
		}
	}
	return ext
}

// ParseEntry reports whether name is a cache entry's file name and returns
// the content's hash. Entries are "<64 hex digits>" with an optional
// extension; temporary files and anything else in the folder are not.
func ParseEntry(name string) (sha256Hex string, ok bool) {
	if len(name) < 64 || (len(name) > 64 && name[64] != '.') {
		return "", false
	}
	for _, c := range name[:64] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return name[:64], true
}

// findEntry looks for a complete entry with content sum in dir, whatever
// its extension. size guards against a damaged entry; a name alone is not
// trusted with the content.
func findEntry(fsys fileSystem, dir, sum string, size int64) (string, bool) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if s, ok := ParseEntry(e.Name()); !ok || s != sum {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if fi, err := fsys.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
			return p, true
		}
	}
	return "", false
}

// RemoveOrphans deletes the temporary files that crashed or killed copies
// left in dir, and returns their paths. Only temporaries not written to for
// olderThan are touched: another process may be copying into dir right
// now, and its temporary file keeps getting fresh modification times. (On
// Windows a live one cannot be deleted anyway; it is open without delete
// sharing.) Files that cannot be removed are skipped.
func RemoveOrphans(dir string, olderThan time.Duration) ([]string, error) {
	return removeOrphans(osFS{}, dir, time.Now().Add(-olderThan))
}

func removeOrphans(fsys fileSystem, dir string, cutoff time.Time) ([]string, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := fsys.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.ModTime().After(cutoff) {
			continue
		}
		if fsys.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed, nil
}

// copied is a finished, flushed and closed temporary copy.
type copied struct {
	path string
	size int64
	hash hash.Hash
}

// copyToTemp is one attempt at copying src: open it, copy it to a new
// temporary file in dir while hashing, flush and close. On failure the
// temporary file is gone.
func copyToTemp(ctx context.Context, fsys fileSystem, src, dir string, progress func(done, total int64)) (copied, *Error) {
	in, err := fsys.Open(src)
	if err != nil {
		return copied{}, &Error{Op: OpOpen, Path: src, Err: err}
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return copied{}, &Error{Op: OpOpen, Path: src, Err: err}
	}
	switch {
	case info.IsDir():
		return copied{}, &Error{Op: OpOpen, Path: src, Err: errIsDir}
	case !info.Mode().IsRegular():
		return copied{}, &Error{Op: OpOpen, Path: src, Err: errNotRegular}
	}

	out, err := fsys.CreateTemp(dir, tempPattern)
	if err != nil {
		return copied{}, &Error{Op: OpWrite, Path: dir, Err: err}
	}
	done := false
	defer func() {
		if !done {
			_ = out.Close()
			_ = fsys.Remove(out.Name())
		}
	}()

	h := sha256.New()
	n, e := copyHashing(ctx, out, h, in, src, out.Name(), info.Size(), progress)
	if e != nil {
		return copied{}, e
	}
	if err := out.Sync(); err != nil {
		return copied{}, &Error{Op: OpWrite, Path: out.Name(), Err: err}
	}
	if err := out.Close(); err != nil {
		return copied{}, &Error{Op: OpWrite, Path: out.Name(), Err: err}
	}
	done = true
	return copied{path: out.Name(), size: n, hash: h}, nil
}

// WriteFileAtomic writes data to path so that readers see either the old
// file or the whole new one: it writes a temporary file in the same folder,
// flushes it, gives it perm and renames it over path. Busy files (a
// subtitle file open in a media player) are retried like in Stage. The
// folder must exist. On failure no temporary file is left and an existing
// file at path is untouched. Errors are *Error.
func WriteFileAtomic(ctx context.Context, path string, data []byte, perm fs.FileMode, opts Options) error {
	fsys := opts.fileSystem()
	if err := ctx.Err(); err != nil {
		return &Error{Op: OpWrite, Path: path, Err: err}
	}
	if fi, err := fsys.Stat(path); err == nil && fi.IsDir() {
		return &Error{Op: OpWrite, Path: path, Attempts: 1, Err: errIsDir}
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	r := newRetrier(ctx, opts)

	var tmpPath string
	err := r.do(OpWrite, path, func() *Error {
		var err *Error
		tmpPath, err = writeTemp(fsys, dir, "."+base+".*.tmp", path, data, perm)
		return err
	})
	if err != nil {
		return err
	}
	err = r.do(OpRename, path, func() *Error {
		if err := fsys.Rename(tmpPath, path); err != nil {
			return &Error{Op: OpRename, Path: path, Err: renameError(err, path)}
		}
		return nil
	})
	if err != nil {
		_ = fsys.Remove(tmpPath)
		return err
	}
	syncDir(dir)
	return nil
}

// writeTemp is one attempt at writing data to a new temporary file in dir.
// Errors name path, the file the user asked for, not the temporary name.
func writeTemp(fsys fileSystem, dir, pattern, path string, data []byte, perm fs.FileMode) (string, *Error) {
	out, err := fsys.CreateTemp(dir, pattern)
	if err != nil {
		return "", &Error{Op: OpWrite, Path: path, Err: err}
	}
	ok := false
	defer func() {
		if !ok {
			_ = out.Close()
			_ = fsys.Remove(out.Name())
		}
	}()
	if _, err := out.Write(data); err != nil {
		return "", &Error{Op: OpWrite, Path: path, Err: err}
	}
	// CreateTemp makes the file 0600; exports get what the caller asked for.
	if err := out.Chmod(perm); err != nil {
		return "", &Error{Op: OpWrite, Path: path, Err: err}
	}
	if err := out.Sync(); err != nil {
		return "", &Error{Op: OpWrite, Path: path, Err: err}
	}
	if err := out.Close(); err != nil {
		return "", &Error{Op: OpWrite, Path: path, Err: err}
	}
	ok = true
	return out.Name(), nil
}
