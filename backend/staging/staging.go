// Package staging copies the user's files into the app's cache before any
// other step touches them, and writes exports atomically.
//
// On Windows, antivirus scanners, OneDrive and media players hold fresh
// files open for a moment ("WinError 32 … being used by another process").
// Staging waits such moments out with bounded retries, reads the source
// exactly once, never changes it, and leaves the rest of the pipeline a
// private, content-addressed copy that nobody else holds.
package staging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/avast/retry-go/v4"
)

// Staged is a source file's copy in the cache.
type Staged struct {
	Path   string // the cached copy: <cacheDir>/<sha256><lowercased extension>
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
	// Progress, if set, is called by Stage after each buffer with the
	// bytes copied so far and the source's size. A retried copy starts
	// again from zero.
	Progress func(done, total int64)

	// For tests.
	fs        fileSystem    // nil: the real file system
	timer     retry.Timer   // nil: real waiting
	baseDelay time.Duration // first backoff step; 0: defaultBaseDelay
}

func (o Options) fileSystem() fileSystem {
	if o.fs == nil {
		return osFS{}
	}
	return o.fs
}

const (
	copyBufferSize = 256 << 10
	cacheDirPerm   = 0o700
	tempPattern    = ".staging-*.tmp"
)

// Stage copies src into cacheDir and returns the copy. The copy is named
// after its SHA-256 and src's lowercased extension, so the same content is
// stored once however often and under whatever name it arrives. The source
// is opened read-only and is never modified, moved or deleted. A failed or
// cancelled Stage leaves no file under a final name. Errors are *Error.
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
	final := filepath.Join(cacheDir, sum+strings.ToLower(filepath.Ext(src)))
	err = r.do(OpRename, final, func() *Error {
		// Checked on every attempt: another Stage of the same content
		// may have finished while this one waited.
		if fi, err := fsys.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == tmp.size {
			_ = fsys.Remove(tmp.path)
			return nil
		}
		if err := fsys.Rename(tmp.path, final); err != nil {
			return &Error{Op: OpRename, Path: final, Err: err}
		}
		return nil
	})
	if err != nil {
		_ = fsys.Remove(tmp.path)
		return Staged{}, err
	}
	return Staged{Path: final, SHA256: sum, Size: tmp.size, Source: src}, nil
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
	n, e := copyHashing(ctx, io.MultiWriter(out, h), in, src, out.Name(), info.Size(), progress)
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

// copyHashing copies in to w buffer by buffer, checking ctx before every
// read and reporting progress after every write.
func copyHashing(ctx context.Context, w io.Writer, in io.Reader, src, dst string, total int64, progress func(done, total int64)) (int64, *Error) {
	buf := make([]byte, copyBufferSize)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return done, &Error{Op: OpRead, Path: src, Err: err}
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return done, &Error{Op: OpWrite, Path: dst, Err: err}
			}
			done += int64(n)
			if progress != nil {
				progress(done, max(total, done)) // the file may have grown
			}
		}
		if rerr == io.EOF {
			return done, nil
		}
		if rerr != nil {
			return done, &Error{Op: OpRead, Path: src, Err: rerr}
		}
	}
}

// WriteFileAtomic writes data to path so that readers see either the old
// file or the whole new one: it writes a temporary file in the same folder,
// flushes it, gives it perm and renames it over path. Busy files are retried
// like in Stage. The folder must exist. On failure no temporary file is left
// and an existing file at path is untouched. Errors are *Error.
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
			return &Error{Op: OpRename, Path: path, Err: err}
		}
		return nil
	})
	if err != nil {
		_ = fsys.Remove(tmpPath)
		return err
	}
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
