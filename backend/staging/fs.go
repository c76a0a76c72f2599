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
	ReadDir(name string) ([]fs.DirEntry, error)
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

// Open opens name read-only, letting other programs go on reading, writing,
// renaming and deleting it while we copy (see openSource).
func (osFS) Open(name string) (sourceFile, error) { return openSource(name) }

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (osFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }

func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
