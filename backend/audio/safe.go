package audio

import "fmt"

// The third-party decoders were not written for hostile input; a panic in
// one of them becomes an error about the file instead of a crash.

// guard runs f, turning a panic into an error wrapping ErrCorrupt.
func guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the %s decoder failed on this data (%v)", ErrCorrupt, what, r)
		}
	}()
	return f()
}
