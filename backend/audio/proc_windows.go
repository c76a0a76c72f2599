//go:build windows

package audio

import (
	"os/exec"
	"syscall"
)

// createNoWindow is CREATE_NO_WINDOW: the desktop app has no console, and
// without it every ffmpeg run would flash one.
const createNoWindow = 0x08000000

// hideWindow keeps ffmpeg's console window from appearing.
func hideWindow(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}
