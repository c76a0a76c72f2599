package localserver_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
)

// devserver is the built cmd/triton-devserver; the fake docker and
// nvidia-smi are on PATH for every test.
var devserver string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// A test binary run where it cannot build programs (under Wine, say)
	// runs the tests that need no fake docker only.
	if os.Getenv("LOCALSERVER_NO_FAKES") != "" {
		return m.Run()
	}
	bin, err := os.MkdirTemp("", "localserver-fakes-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bin)
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	const mod = "github.com/nemo-transcribe/nemo-transcribe/"
	for name, pkg := range map[string]string{
		"docker":           mod + "backend/localserver/internal/fakedocker",
		"nvidia-smi":       mod + "backend/localserver/internal/fakenvidiasmi",
		"triton-devserver": mod + "cmd/triton-devserver",
	} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name+exe), pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	devserver = filepath.Join(bin, "triton-devserver"+exe)
	os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return m.Run()
}

// fake is one test's scripted docker: its folder of scripts and state.
type fake struct {
	t   *testing.T
	dir string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	if devserver == "" {
		t.Skip("the fake docker was not built (LOCALSERVER_NO_FAKES)")
	}
	f := &fake{t: t, dir: t.TempDir()}
	t.Setenv("FAKE_DOCKER_DIR", f.dir)
	t.Setenv("FAKE_DEVSERVER", devserver)
	t.Cleanup(f.killDevserver)
	return f
}

// script sets what the command key prints and its exit status.
func (f *fake) script(key, stdout, stderr string, exit int) {
	f.t.Helper()
	if stdout != "" {
		f.write(key+".stdout", stdout)
	}
	if stderr != "" {
		f.write(key+".stderr", stderr)
	}
	f.write(key+".exit", strconv.Itoa(exit))
}

func (f *fake) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) remove(name string) { os.Remove(filepath.Join(f.dir, name)) }

// calls are the fake's command lines so far.
func (f *fake) calls() [][]string {
	data, _ := os.ReadFile(filepath.Join(f.dir, "calls.log"))
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var c struct{ Args []string }
		if json.Unmarshal([]byte(line), &c) == nil {
			out = append(out, c.Args)
		}
	}
	return out
}

// called reports whether some call has all of words among its arguments.
func (f *fake) called(words ...string) bool {
	for _, c := range f.calls() {
		all := true
		for _, w := range words {
			found := false
			for _, a := range c {
				if a == w {
					found = true
				}
			}
			all = all && found
		}
		if all {
			return true
		}
	}
	return false
}

func (f *fake) killDevserver() {
	if b, err := os.ReadFile(filepath.Join(f.dir, "devserver.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
				p.Wait()
			}
		}
	}
	time.Sleep(20 * time.Millisecond)
}

// A healthy Linux machine: Docker Engine with the NVIDIA runtime, one GPU.
const (
	versionLinux = `{"Client":{"Platform":{"Name":"Docker Engine - Community"},"Version":"27.3.1"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Version":"27.3.1","Os":"linux","KernelVersion":"6.1.0-18-amd64"}}`
	infoLinux    = `{"OperatingSystem":"Debian GNU/Linux 12 (bookworm)","OSType":"linux","KernelVersion":"6.1.0-18-amd64","DockerRootDir":"/","ServerVersion":"27.3.1","Runtimes":{"io.containerd.runc.v2":{"path":"runc"},"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}}`
	smiOK        = "NVIDIA GeForce RTX 4090, 581.57, 24564 MiB\n"
)

func (f *fake) healthyLinux() {
	f.script("version", versionLinux+"\n", "", 0)
	f.script("info", infoLinux+"\n", "", 0)
	f.script("compose-version", "2.29.1\n", "", 0)
	f.script("nvidia-smi", smiOK, "", 0)
}

// freePorts returns n ports free on 127.0.0.1 right now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func newManager(t *testing.T, prober localserver.Prober) *localserver.Manager {
	t.Helper()
	return localserver.New(localserver.Config{
		Dir:            filepath.Join(t.TempDir(), "local-server"),
		Prober:         prober,
		Poll:           50 * time.Millisecond,
		StartTimeout:   30 * time.Second,
		CommandTimeout: 20 * time.Second,
		GOOS:           "linux",
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
