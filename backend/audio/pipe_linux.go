//go:build linux

package audio

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe enlarges the pipe ffmpeg writes its samples to (64 KiB by
// default) so that both sides run longer between wake-ups. Failure is
// harmless.
func growPipe(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20)
		})
	}
}
