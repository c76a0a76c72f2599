package staging

import (
	"errors"
	"syscall"
)

// isTransient reports whether err is worth waiting out. It looks only at the
// operating system's error number, never at the message, which differs
// between Windows versions, languages and emulators.
func isTransient(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	for _, t := range transientErrnos {
		if errno == t {
			return true
		}
	}
	return false
}

// sharingWords explain a sharing violation, the usual transient error.
const sharingWords = "another program has the file open — often antivirus, OneDrive or a media player; close it or wait and retry"
