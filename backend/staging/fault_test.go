package staging

import (
	"io/fs"
	"sync"
	"syscall"
	"time"
)

// busy is the error number this OS uses for "another program has the file
// open"; faults built from it must be retried.
var busy = transientErrnos[0]

// faultFS is the real file system with scripted failures. Each call to a
// step ("open", "read", "create", "write", "chmod", "sync", "close",
// "rename") takes the next entry of that step's script; a nil entry or an
// empty script lets the call through. Every call is logged.
type faultFS struct {
	osFS
	mu     sync.Mutex
	script map[string][]error
	log    []string
}

func newFaultFS(script map[string][]error) *faultFS {
	if script == nil {
		script = map[string][]error{}
	}
	return &faultFS{script: script}
}

// fault logs a call to step and returns its scripted error, wrapped the way
// package os wraps errors.
func (f *faultFS) fault(step, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, step)
	s := f.script[step]
	if len(s) == 0 {
		return nil
	}
	err := s[0]
	f.script[step] = s[1:]
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: step, Path: name, Err: err}
}

// calls counts the logged calls to step.
func (f *faultFS) calls(step string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.log {
		if s == step {
			n++
		}
	}
	return n
}

func (f *faultFS) steps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *faultFS) Open(name string) (sourceFile, error) {
	if err := f.fault("open", name); err != nil {
		return nil, err
	}
	in, err := f.osFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultSource{sourceFile: in, fs: f, name: name}, nil
}

func (f *faultFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if err := f.fault("create", dir); err != nil {
		return nil, err
	}
	out, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultTemp{tempFile: out, fs: f}, nil
}

func (f *faultFS) Rename(oldpath, newpath string) error {
	if err := f.fault("rename", newpath); err != nil {
		return err
	}
	return f.osFS.Rename(oldpath, newpath)
}

type faultSource struct {
	sourceFile
	fs   *faultFS
	name string
}

func (s *faultSource) Read(p []byte) (int, error) {
	if err := s.fs.fault("read", s.name); err != nil {
		return 0, err
	}
	return s.sourceFile.Read(p)
}

type faultTemp struct {
	tempFile
	fs *faultFS
}

func (t *faultTemp) Write(p []byte) (int, error) {
	if err := t.fs.fault("write", t.Name()); err != nil {
		return 0, err
	}
	return t.tempFile.Write(p)
}

func (t *faultTemp) Chmod(mode fs.FileMode) error {
	if err := t.fs.fault("chmod", t.Name()); err != nil {
		return err
	}
	return t.tempFile.Chmod(mode)
}

func (t *faultTemp) Sync() error {
	if err := t.fs.fault("sync", t.Name()); err != nil {
		return err
	}
	return t.tempFile.Sync()
}

func (t *faultTemp) Close() error {
	if err := t.fs.fault("close", t.Name()); err != nil {
		_ = t.tempFile.Close()
		return err
	}
	return t.tempFile.Close()
}

// instantTimer stands in for real waiting: every wait ends at once, and the
// requested durations are recorded.
type instantTimer struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (t *instantTimer) After(d time.Duration) <-chan time.Time {
	t.mu.Lock()
	t.waits = append(t.waits, d)
	t.mu.Unlock()
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c
}

func (t *instantTimer) total() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sum time.Duration
	for _, d := range t.waits {
		sum += d
	}
	return sum
}

// testOptions returns options that inject fsys (nil: the real file system)
// and never really wait.
func testOptions(fsys fileSystem) (Options, *instantTimer) {
	timer := &instantTimer{}
	return Options{fs: fsys, timer: timer}, timer
}

// times repeats err n times, for scripts.
func times(n int, err error) []error {
	s := make([]error, n)
	for i := range s {
		s[i] = err
	}
	return s
}

// permanent is an error that must never be retried.
var permanent = syscall.EACCES
