//go:build !windows

package staging

import "syscall"

// transientErrnos are the error numbers that mean "the file is busy right
// now" rather than "this cannot work": a device or file in use, a text file
// being executed, a resource temporarily unavailable, an interrupted call.
var transientErrnos = []syscall.Errno{
	syscall.EBUSY,
	syscall.ETXTBSY,
	syscall.EAGAIN,
	syscall.EINTR,
}

// heldWords says what held the file, for a transient err.
func heldWords(error) string { return sharingWords }
