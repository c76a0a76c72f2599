package staging

import (
	"io"
	"io/fs"
	"os"
)

// fileSystem is the handful of file-system calls staging makes. Production
// code uses osFS; tests wrap it to inject faults such as "busy twice, then
// fine".
type fileSystem interface {
	Open(name string) (sourceFile, error)
	CreateTemp(dir, pattern string) (tempFile, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	Stat(name string) (fs.FileInfo, error)
	MkdirAll(path string, perm fs.FileMode) error
}

// sourceFile is a file opened for reading.
type sourceFile interface {
	io.ReadCloser
	Stat() (fs.FileInfo, error)
}

// tempFile is a freshly created file that becomes a final file by rename.
type tempFile interface {
	io.WriteCloser
	Name() string
	Sync() error
	Chmod(mode fs.FileMode) error
}

// osFS is the real file system.
type osFS struct{}

// Open opens name read-only. On Windows os.Open shares read and write with
// other programs but not delete, so a program that wants to rename or delete
// the user's file while we copy it has to wait for us; the full intake adds
// FILE_SHARE_DELETE (via windows.CreateFile) in a later issue.
func (osFS) Open(name string) (sourceFile, error) { return os.Open(name) }

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (osFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }
