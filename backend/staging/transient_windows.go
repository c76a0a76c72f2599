//go:build windows

package staging

import (
	"errors"
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

// heldWords says what held the file, for a transient err.
func heldWords(err error) string {
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return "another program has locked part of the file — often backup or sync software; close it or wait and retry"
	}
	return sharingWords
}
