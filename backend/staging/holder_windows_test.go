//go:build windows

package staging

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// The Windows tests need a second process that holds a file the way an
// antivirus scanner or a media player does. The test binary plays that
// part itself: started with holdEnv set, it opens the file with the share
// mode in holdShareEnv (0: nobody else may open it), prints "held", keeps
// it open for holdForEnv (or until its standard input closes), closes it
// and prints "released".
const (
	holdEnv      = "STAGING_TEST_HOLD"
	holdShareEnv = "STAGING_TEST_HOLD_SHARE"
	holdForEnv   = "STAGING_TEST_HOLD_FOR"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		os.Exit(runHolder(path))
	}
	os.Exit(m.Run())
}

func runHolder(path string) int {
	share, _ := strconv.ParseUint(os.Getenv(holdShareEnv), 10, 32)
	holdFor, _ := time.ParseDuration(os.Getenv(holdForEnv))
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, uint32(share),
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("held")
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	var timeout <-chan time.Time
	if holdFor > 0 {
		timeout = time.After(holdFor)
	}
	select {
	case <-stdinClosed:
	case <-timeout:
	}
	windows.CloseHandle(h)
	fmt.Println("released")
	return 0
}

// holder is a running holder process.
type holder struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	drained chan struct{}
	heldAt  time.Time // when this process learnt the file was held
	done    bool
}

// holdFile starts a process that holds path with the given share mode for
// holdFor (0: until release). It returns once the file is held. The
// holder is released when the test ends, if not before.
func holdFile(t *testing.T, path string, share uint32, holdFor time.Duration) *holder {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		holdEnv+"="+path,
		holdShareEnv+"="+strconv.FormatUint(uint64(share), 10),
		holdForEnv+"="+holdFor.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin, drained: make(chan struct{})}
	first := make(chan string, 1)
	go func() {
		defer close(h.drained)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case first <- sc.Text():
			default:
			}
		}
		select {
		case first <- "exited without a word":
		default:
		}
	}()
	t.Cleanup(h.release)
	select {
	case line := <-first:
		if line != "held" {
			t.Fatalf("holder for %s: %s", path, line)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("holder for %s did not start within a minute", path)
	}
	h.heldAt = time.Now()
	return h
}

// release tells the holder to let go and waits until it has exited.
func (h *holder) release() {
	if h.done {
		return
	}
	h.done = true
	_ = h.stdin.Close()
	<-h.drained
	_ = h.cmd.Wait()
}
