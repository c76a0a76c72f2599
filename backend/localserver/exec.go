package localserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

var runtimeGOOS = runtime.GOOS

// composeEnvKeys are the variables the app sets for compose; the same
// names from the app's own environment are dropped so that they cannot
// override the user's choice.
var composeEnvKeys = []string{"NEMO_MODELS", "TRITON_BIND", "TRITON_HTTP_BIND", "TRITON_GRPC_PORT", "TRITON_HTTP_PORT", "TRITON_METRICS_PORT", "TRITON_SHM_SIZE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "NEMO_REPOSITORY"}

// result is how one command ended.
type result struct {
	stdout, stderr []byte
	exit           int   // exit status; -1 when it did not run or was killed
	err            error // nil when it exited 0
}

// tail is the last non-empty line of stderr (else stdout).
func (r result) tail() string {
	for _, b := range [][]byte{r.stderr, r.stdout} {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if l := strings.TrimSpace(lines[i]); l != "" {
				return l
			}
		}
	}
	return ""
}

func (r result) text() string { return string(r.stderr) + "\n" + string(r.stdout) }

// command is one program to run.
type command struct {
	name    string
	args    []string
	env     []string      // added to the filtered environment
	dir     string        // working folder ("" = the app's)
	timeout time.Duration // deadline of this command
	// onLine, when set, gets each line of stdout and stderr as it comes
	// (lines end at \n or \r, so progress bars count), one at a time.
	onLine func(string)
}

// run runs c under its deadline and ctx and waits for it.
func run(ctx context.Context, c command) result {
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Dir = c.dir
	cmd.Env = append(filteredEnv(), c.env...)
	// A program that leaves a child holding its output must not keep us
	// waiting once it has exited itself.
	cmd.WaitDelay = 3 * time.Second
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	var mu sync.Mutex
	if c.onLine == nil {
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
	} else {
		for _, pipe := range []struct {
			buf *bytes.Buffer
			set func(io.Writer)
		}{{&stdout, func(w io.Writer) { cmd.Stdout = w }}, {&stderr, func(w io.Writer) { cmd.Stderr = w }}} {
			pr, pw := io.Pipe()
			pipe.set(pw)
			buf := pipe.buf
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := bufio.NewScanner(pr)
				sc.Buffer(make([]byte, 64*1024), 1024*1024)
				sc.Split(scanLinesCR)
				for sc.Scan() {
					line := sc.Text()
					mu.Lock()
					keepTail(buf, line)
					c.onLine(line)
					mu.Unlock()
				}
				io.Copy(io.Discard, pr)
			}()
			defer pw.Close()
		}
	}
	err := cmd.Start()
	if err != nil {
		return result{exit: -1, err: err}
	}
	err = cmd.Wait()
	if c.onLine != nil {
		cmd.Stdout.(*io.PipeWriter).Close()
		cmd.Stderr.(*io.PipeWriter).Close()
		wg.Wait()
	}
	r := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: err}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		r.exit, r.err = -1, context.Cause(ctx)
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	default:
		r.exit = -1
	}
	return r
}

var errTimeout = errors.New("the command took too long")

// keepTail keeps the last 64 KiB of a stream's lines.
func keepTail(buf *bytes.Buffer, line string) {
	buf.WriteString(line)
	buf.WriteByte('\n')
	if buf.Len() > 64*1024 {
		b := buf.Bytes()
		rest := append([]byte(nil), b[len(b)-32*1024:]...)
		buf.Reset()
		buf.Write(rest)
	}
}

// scanLinesCR splits at \n, \r\n and a lone \r (progress bars redraw
// their line with \r).
func scanLinesCR(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' {
			return i + 1, bytes.TrimSuffix(data[:i], []byte{'\r'}), nil
		}
		if b == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // wait: \r\n may be split across reads
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func filteredEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range composeEnvKeys {
			if strings.EqualFold(k, key) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// notFound reports whether the program itself is missing.
func notFound(r result) bool {
	return errors.Is(r.err, exec.ErrNotFound) || errors.Is(r.err, os.ErrNotExist)
}
