//go:build !linux

package audio

import (
	"io"
	"os/exec"
)

// outputPipe connects cmd's standard output to a pipe read the ordinary
// way; w is nil (exec closes its end once cmd has started).
func outputPipe(cmd *exec.Cmd) (r io.ReadCloser, w io.Closer, err error) {
	r, err = cmd.StdoutPipe()
	return r, nil, err
}
