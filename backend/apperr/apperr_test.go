package apperr

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestPathReason(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"a path error loses its operation and path", &fs.PathError{Op: "open", Path: "/a/b.wav", Err: fs.ErrPermission}, "permission denied"},
		{"also when wrapped", fmt.Errorf("reading: %w", &fs.PathError{Op: "read", Path: "/a", Err: errors.New("input/output error")}), "input/output error"},
		{"other errors are as they are", errors.New("disk on fire"), "disk on fire"},
	} {
		if got := PathReason(tt.err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
