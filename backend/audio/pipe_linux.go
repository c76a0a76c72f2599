//go:build linux

package audio

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The pipe from ffmpeg is polled while ffmpeg is busy, not waited on.
// Each of ffmpeg's 32 KiB writes wakes a reader asleep on the pipe, at
// ffmpeg's expense: the wake-up is kernel time in ffmpeg, and when it can
// Linux runs the woken reader on ffmpeg's core, pausing ffmpeg. Decoding
// 10 minutes of FLAC on two cores, ffmpeg spent 0.06 s in the kernel
// instead of 0.03 s, and on a busy machine it was paused about 1,300 times
// instead of about 25. A reader that sleeps on a timer wakes by itself and
// takes whatever ffmpeg wrote meanwhile; the pipe holds 1 MiB, over 10 ms
// of ffmpeg's fastest output, so ffmpeg does not wait on a full pipe. Once
// ffmpeg has been quiet for a few polls (starting up, or slowed down by a
// busy machine) the reader waits on the pipe again.

const (
	outputPipeBytes = 1 << 20
	pollInterval    = time.Millisecond
	pollTries       = 4
)

// outputPipe makes the pipe that carries ffmpeg's samples and sets it as
// cmd's standard output. The caller closes w once cmd has started.
func outputPipe(cmd *exec.Cmd) (r io.ReadCloser, w io.Closer, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	// Made from blocking descriptors, the files stay out of Go's poller
	// (which would be woken by every write just the same).
	rf, wf := os.NewFile(uintptr(fds[0]), "ffmpeg output"), os.NewFile(uintptr(fds[1]), "ffmpeg output")
	cmd.Stdout = wf
	// Where the pipe cannot be made large (a user over the kernel's
	// pipe-user-pages limit), polling would leave ffmpeg waiting on a full
	// pipe: read it the ordinary way.
	if size, err := unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, outputPipeBytes); err != nil || size < outputPipeBytes {
		return rf, wf, nil
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return rf, wf, nil
	}
	return &pollingReader{f: rf}, wf, nil
}

// pollingReader reads a non-blocking pipe, sleeping while it is empty.
type pollingReader struct {
	f *os.File
}

func (p *pollingReader) Read(b []byte) (int, error) {
	for try := 0; ; try++ {
		n, err := p.f.Read(b)
		if !errors.Is(err, syscall.EAGAIN) {
			return n, err
		}
		if try < pollTries {
			time.Sleep(pollInterval)
			continue
		}
		p.waitReadable()
	}
}

// waitReadable blocks until the pipe holds data or ffmpeg has closed it.
func (p *pollingReader) waitReadable() {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil {
				return
			}
			if err != unix.EINTR {
				time.Sleep(pollInterval) // never spin; the next read reports the error
				return
			}
		}
	})
}

func (p *pollingReader) Close() error { return p.f.Close() }
