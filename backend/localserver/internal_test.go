package localserver

import (
	"bufio"
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

func TestDockerFaultSentences(t *testing.T) {
	cases := []struct {
		goos, stderr string
		code         apperr.Code
		words        string
	}{
		{"linux", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", CodeDockerNotRunning, "systemctl start docker"},
		{"windows", "error during connect: this error may indicate that the docker daemon is not running: Get \"http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version\": open //./pipe/docker_engine: The system cannot find the file specified.", CodeDockerNotRunning, "start Docker Desktop"},
		{"windows", "Error response from daemon: Ports are not available: exposing port TCP 127.0.0.1:8001 -> 0.0.0.0:0: listen tcp 127.0.0.1:8001: bind: An attempt was made to access a socket in a way forbidden by its access permissions.", CodePortInUse, "port 8001 on 127.0.0.1"},
		{"linux", "Error response from daemon: failed to set up container networking: driver failed programming external connectivity on endpoint x: failed to bind host port for 0.0.0.0:8001:172.17.0.2:8001/tcp: address already in use", CodePortInUse, "port 8001 on 0.0.0.0"},
		{"windows", "Error response from daemon: could not select device driver \"nvidia\" with capabilities: [[gpu]]", CodeGPUUnavailable, "WSL 2"},
		{"linux", "nvidia-container-cli: initialization error: load library failed: libnvidia-ml.so.1", CodeGPUUnavailable, "nvidia-ctk"},
		{"linux", "failed to solve: failed to fetch anonymous token: Get \"https://nvcr.io/proxy_auth\": dial tcp: lookup nvcr.io: Temporary failure in name resolution", CodeOffline, "nvcr.io"},
		{"linux", "ERROR: Could not install packages due to an OSError: HTTPSConnectionPool(host='download.pytorch.org', port=443): Max retries exceeded with url: /whl/cu126/torch/ (Caused by NewConnectionError: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution)", CodeOffline, "offline"},
		{"linux", "docker: 'compose' is not a docker command.", CodeComposeMissing, "docker-compose-plugin"},
		{"linux", "write /var/lib/docker/overlay2/x: no space left on device", CodeDiskFull, "full"},
	}
	for _, tc := range cases {
		err := dockerFault(result{stderr: []byte(tc.stderr + "\n"), exit: 1}, tc.goos)
		if apperr.CodeOf(err) != tc.code || !strings.Contains(apperr.Message(err), tc.words) {
			t.Errorf("%q: %s %q, want %s mentioning %q", tc.stderr, apperr.CodeOf(err), apperr.Message(err), tc.code, tc.words)
		}
	}
	if err := dockerFault(result{stderr: []byte("something else\n"), exit: 1}, "linux"); err != nil {
		t.Errorf("unknown output: %v", err)
	}
	err := composeFailure("Starting the server", result{stderr: []byte("Error response from daemon: conflict: unable to remove\n"), exit: 1}, "linux")
	if apperr.Message(err) != "Starting the server failed: conflict: unable to remove" {
		t.Errorf("%q", apperr.Message(err))
	}
}

func TestParsePS(t *testing.T) {
	line := `{"Name":"nemo-transcribe-triton-1","Service":"triton","State":"running","Health":"starting","ExitCode":0}`
	for _, out := range []string{line + "\n", "[" + line + "]\n"} {
		c, ok := parsePS([]byte(out))
		if !ok || c.State != "running" || c.Health != "starting" {
			t.Errorf("%s: %+v %v", out, c, ok)
		}
	}
	if _, ok := parsePS([]byte("")); ok {
		t.Error("no container reported as one")
	}
}

func TestScanLinesCR(t *testing.T) {
	sc := bufio.NewScanner(strings.NewReader("a\r\nb\rc\nd"))
	sc.Split(scanLinesCR)
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("%q", got)
	}
}

func TestVersions(t *testing.T) {
	for _, c := range []struct {
		have, want string
		ok         bool
	}{{"581.57", "580.95.05", true}, {"580.95.05", "580.95.05", true}, {"580.88", "580.95.05", false}, {"550.120", "580.95.05", false}, {"", "1", false}} {
		if versionAtLeast(c.have, c.want) != c.ok {
			t.Errorf("%s >= %s: %v", c.have, c.want, !c.ok)
		}
	}
	if !composeAtLeast("2.29.1-desktop.1", 2, 24) || composeAtLeast("v2.20.2", 2, 24) || !composeAtLeast("v2.24.0", 2, 24) {
		t.Error("compose versions")
	}
}

// TestDriverTableFollowsTheDockerfile: bumping the Triton pin in
// models/Dockerfile without adding its CUDA and driver here fails.
func TestDriverTableFollowsTheDockerfile(t *testing.T) {
	image, cuda, driver := pinnedTriton()
	if image == "" || cuda == "" || driver == "" {
		t.Fatalf("models/Dockerfile pins %q, which tritonDrivers does not know: add its CUDA and driver from Triton's compatibility matrix", image)
	}
	data, _ := fs.ReadFile(models.ServerFiles(), "Dockerfile")
	major := driver[:strings.IndexByte(driver, '.')]
	if !strings.Contains(string(data), "CUDA "+cuda) || !strings.Contains(string(data), "driver "+major+"+") || !strings.Contains(string(data), driver) {
		t.Errorf("the Dockerfile's note does not say CUDA %s and driver %s+ (%s)", cuda, major, driver)
	}
}

func TestProgressParsers(t *testing.T) {
	var got []Progress
	out := newThrottle(func(p Progress) { got = append(got, p) }, 0)
	w := newLogWatcher(out, []string{"parakeet-tdt-0.6b-v2", "canary-1b-v2"})
	for _, l := range []string{
		`I1202 1 model_lifecycle.cc:473] "loading: canary-1b-v2:1"`,
		`canary-1b-v2.nemo:  12%|█▏        | 614M/5.12G [00:05<00:40, 110MB/s]`,
		`E1202 1 model_lifecycle.cc:654] "failed to load 'parakeet-tdt-0.6b-v2' version 1: Internal: RuntimeError: parakeet-tdt-0.6b-v2: instance_group asks for a GPU, but PyTorch sees no CUDA device"`,
		`ERROR: This container was built for NVIDIA Driver Release 580.95 or later, but version 550.54 was detected and compatibility mode is UNAVAILABLE.`,
	} {
		w.line(l)
	}
	if len(got) != 2 || got[1].Phase != PhaseModelDownload || got[1].Model != "canary-1b-v2" || got[1].Done != 614_000_000 || got[1].Total != 5_120_000_000 {
		t.Errorf("%+v", got)
	}
	if r, ok := w.failure("parakeet-tdt-0.6b-v2"); !ok || !strings.HasPrefix(r, "Internal: RuntimeError: parakeet-tdt-0.6b-v2: instance_group asks for a GPU") || strings.HasSuffix(r, `"`) {
		t.Errorf("failure %q %v", r, ok)
	}
	if s, _ := w.fatalSentence(); !strings.Contains(s, "driver is too old") || !strings.Contains(s, "550.54") {
		t.Errorf("fatal %q", s)
	}
}

// TestEveryCommandHasADeadline: a docker that hangs is given up on.
func TestEveryCommandHasADeadline(t *testing.T) {
	start := time.Now()
	r := run(context.Background(), command{name: "sleep", args: []string{"10"}, timeout: 200 * time.Millisecond})
	if r.err != errTimeout || time.Since(start) > 5*time.Second {
		t.Skipf("no sleep program here, or %v after %s", r.err, time.Since(start))
	}
	if err := dockerFault(r, "linux"); apperr.CodeOf(err) != CodeTimeout {
		t.Errorf("%v", err)
	}
}
