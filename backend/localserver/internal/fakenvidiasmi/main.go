// Command fakenvidiasmi stands in for nvidia-smi in backend/localserver's
// tests: it prints $FAKE_DOCKER_DIR/nvidia-smi.stdout and .stderr and exits
// with the status in nvidia-smi.exit (0 when absent). Without a scripted
// output it fails as nvidia-smi does on a machine with no NVIDIA driver.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	dir := os.Getenv("FAKE_DOCKER_DIR")
	scripted := false
	if b, err := os.ReadFile(filepath.Join(dir, "nvidia-smi.stdout")); err == nil {
		os.Stdout.Write(b)
		scripted = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, "nvidia-smi.stderr")); err == nil {
		os.Stderr.Write(b)
		scripted = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, "nvidia-smi.exit")); err == nil {
		code, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		os.Exit(code)
	}
	if !scripted {
		fmt.Fprintln(os.Stderr, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.")
		os.Exit(9)
	}
}
