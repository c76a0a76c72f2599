//go:build windows

package staging

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// transientErrnos are the error numbers that mean "another program has the
// file open right now": antivirus scanners, OneDrive and media players hold
// fresh files for a moment, and Windows refuses to share them until they let
// go.
var transientErrnos = []syscall.Errno{
	windows.ERROR_SHARING_VIOLATION, // 32: the file is open without the sharing we need
	windows.ERROR_LOCK_VIOLATION,    // 33: a range of the file is locked
}
