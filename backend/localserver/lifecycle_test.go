package localserver_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver/probe"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// What BuildKit's plain progress prints while compose builds the image.
const buildLog = `#0 building with "default" instance using docker driver
#1 [triton internal] load build definition from Dockerfile
#1 DONE 0.0s
#2 [triton internal] load metadata for nvcr.io/nvidia/tritonserver:25.10-py3
#2 DONE 1.2s
#5 [triton 1/5] FROM nvcr.io/nvidia/tritonserver:25.10-py3@sha256:3b1f0c6e2d9a
#5 sha256:3b1f0c6e2d9a4b5c 1.05GB / 6.20GB 10.2s
#5 sha256:77aa0c6e2d9a4b5c 0.50GB / 3.10GB 10.2s
#5 sha256:3b1f0c6e2d9a4b5c 6.20GB / 6.20GB 61.0s done
#5 sha256:77aa0c6e2d9a4b5c 3.10GB / 3.10GB 40.0s done
#5 DONE 70.1s
#6 [triton 2/5] RUN apt-get update  && apt-get install -y --no-install-recommends curl libsndfile1
#6 DONE 12.0s
#7 [triton 3/5] RUN python3 -m pip install --index-url "https://download.pytorch.org/whl/cu126" "torch==2.12.0"
#7 3.1 Collecting torch==2.12.0
#7 40.2 Downloading nemo_toolkit-3.0.0-py3-none-any.whl (5.1 MB)
#7 DONE 300.0s
#8 [triton 4/5] COPY . /opt/nemo-transcribe/models
#8 DONE 0.1s
#9 [triton 5/5] RUN install -m 0755 /opt/nemo-transcribe/models/serve.sh /usr/local/bin/nemo-transcribe-serve
#9 DONE 0.2s
#10 exporting to image
#10 DONE 9.0s
`

// What the container prints on its first start (Triton, NeMo's download
// through Hugging Face with \r progress, our backend).
const startupLog = "serve.sh: starting Triton with: --load-model=dtmf\n" +
	"I1202 10:00:00.000000 1 model_lifecycle.cc:473] \"loading: dtmf:1\"\n" +
	"dtmf.nemo:   0%|          | 0.00/2.47G [00:00<?, ?B/s]\rdtmf.nemo:  45%|████▌     | 1.11G/2.47G [00:10<00:12, 110MB/s]\rdtmf.nemo: 100%|██████████| 2.47G/2.47G [00:22<00:00, 110MB/s]\n" +
	"I1202 10:00:30.000000 1 python_be.cc:2400] \"dtmf: nvidia/dtmf ready on GPU 0 in 20.1 s\"\n" +
	"I1202 10:00:30.000000 1 model_lifecycle.cc:849] \"successfully loaded 'dtmf'\"\n" +
	"I1202 10:00:30.000000 1 grpc_server.cc:2558] \"Started GRPCInferenceService at 0.0.0.0:8001\"\n"

// recorder keeps progress events.
type recorder struct {
	mu     sync.Mutex
	events []localserver.Progress
}

func (r *recorder) add(p localserver.Progress) {
	r.mu.Lock()
	r.events = append(r.events, p)
	r.mu.Unlock()
}

func (r *recorder) phases() []localserver.Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []localserver.Phase
	for _, e := range r.events {
		if len(out) == 0 || out[len(out)-1] != e.Phase {
			out = append(out, e.Phase)
		}
	}
	return out
}

func (r *recorder) find(phase localserver.Phase, word string) (localserver.Progress, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Phase == phase && strings.Contains(e.Message, word) {
			return e, true
		}
	}
	return localserver.Progress{}, false
}

// withDTMF adds the devserver's model to the data folder's repository, as
// a user adds their own checkpoint, so that the ticked model is the one
// the devserver hosts.
func withDTMF(t *testing.T, m *localserver.Manager) {
	t.Helper()
	if _, err := m.WriteFiles(context.Background(), localserver.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"repository", "repository-cpu"} {
		dir := filepath.Join(m.Dir(), repo, "dtmf")
		os.MkdirAll(filepath.Join(dir, "1"), 0o755)
		os.WriteFile(filepath.Join(dir, "config.pbtxt"), []byte("name: \"dtmf\"\nbackend: \"python\"\nparameters [ { key: \"nemo_model\", value: { string_value: \"nvidia/dtmf\" } } ]\n"), 0o644)
	}
}

func startOptions(t *testing.T) localserver.StartOptions {
	p := freePorts(t, 3)
	return localserver.StartOptions{Models: []string{"dtmf"}, GRPCPort: p[0], HTTPPort: p[1], MetricsPort: p[2]}
}

// TestStartToStopEndToEnd: detect → start (build, up, logs) → progress in
// words → ready, checked with a real gRPC status call through
// backend/inference against the devserver the fake docker started → a
// transcription through the local server → logs →
// the server stopping under the app → stop → remove.
func TestStartToStopEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.healthyLinux()
	f.write("compose-build.stdout", buildLog)
	f.write("startup.log", startupLog)
	f.write("devserver.args", "--ready-after\n1500ms\n")
	m := newManager(t, probe.Inference{})

	if r := m.Detect(ctx); !r.CanStart || r.Profile != localserver.ProfileGPU {
		t.Fatalf("detect: %+v", r)
	}
	if s, _ := m.Status(ctx); s.State != localserver.StatusNotSetUp || s.Label != "local server" {
		t.Errorf("before start: %+v", s)
	}
	withDTMF(t, m)
	opts := startOptions(t)
	var rec recorder
	if err := m.Start(ctx, opts, rec.add); err != nil {
		t.Fatalf("start: %v", err)
	}

	// Progress, in order, in words.
	phases := rec.phases()
	order := []localserver.Phase{localserver.PhasePrepare, localserver.PhaseImageDownload, localserver.PhaseImageBuild, localserver.PhaseContainer, localserver.PhaseModelDownload, localserver.PhaseReady}
	at := 0
	for _, p := range phases {
		if at < len(order) && p == order[at] {
			at++
		}
	}
	for _, e := range rec.events {
		t.Logf("%s: %s", e.Phase, e.Message)
	}
	if at != len(order) || phases[len(phases)-1] != localserver.PhaseReady {
		t.Errorf("phases %v, want %v in this order, ready last", phases, order)
	}
	if e, ok := rec.find(localserver.PhaseImageDownload, "9.3 GB"); !ok || e.Total != 9_300_000_000 {
		t.Errorf("no image download in bytes summed over its layers (%+v); events %+v", e, rec.events)
	}
	if _, ok := rec.find(localserver.PhaseImageBuild, "step 3 of 5: downloading and installing PyTorch and NeMo"); !ok {
		t.Errorf("no build step in words: %+v", rec.events)
	}
	if e, ok := rec.find(localserver.PhaseModelDownload, "Downloading the dtmf model"); !ok || e.Model != "dtmf" || e.Total != 2_470_000_000 {
		t.Errorf("no model download: %+v", rec.events)
	}
	if _, ok := rec.find(localserver.PhaseLoading, "dtmf"); !ok {
		t.Errorf("no loading step: %+v", rec.events)
	}
	ready, _ := rec.find(localserver.PhaseReady, "ready")
	if ready.Address != opts.Address() {
		t.Errorf("ready at %q, want %q", ready.Address, opts.Address())
	}

	// The commands: argument lists, the project, the user's models and ports.
	if !f.called("compose", "-p", "nemo-transcribe", "up", "-d", "--no-build", "triton") || !f.called("compose", "build", "triton") {
		t.Errorf("calls: %v", f.calls())
	}
	env, _ := os.ReadFile(filepath.Join(m.Dir(), "nemo-transcribe-local.env"))
	for _, want := range []string{"NEMO_MODELS=dtmf", "TRITON_BIND=127.0.0.1", "TRITON_GRPC_PORT=" + strconv.Itoa(opts.GRPCPort)} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("env file lacks %s:\n%s", want, env)
		}
	}

	// Ready, through the app's own client.
	srv, err := inference.Connect(opts.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st, err := srv.Status(ctx)
	if err != nil || !st.Ready {
		t.Fatalf("inference status: %+v %v", st, err)
	}
	// Transcribe through it, as a job would: key presses come back as words.
	model, err := srv.OpenModel(ctx, "dtmf", inference.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '4', Start: 0.2, End: 0.4}, {Key: '2', Start: 0.6, End: 0.8}}, 16000, 1.2, dtmf.SynthOptions{})
	res, err := model.Recognize(ctx, 0, clip, inference.Options{Timestamps: true})
	if err != nil || res.Text != "4 2" || len(res.Words) != 2 {
		t.Errorf("transcribed %+v, %v; want the words 4 2", res, err)
	}
	s, err := m.Status(ctx)
	if err != nil || s.State != localserver.StatusReady || len(s.Models) != 1 || !s.Models[0].Ready || s.Address != opts.Address() {
		t.Errorf("status: %+v %v", s, err)
	}

	logs, err := m.Logs(ctx, 50)
	if err != nil || !strings.Contains(logs, "successfully loaded 'dtmf'") {
		t.Errorf("logs: %q %v", logs, err)
	}

	// A second start with the image built: no build, the container is reused.
	before := len(f.calls())
	cfg := filepath.Join(m.Dir(), "repository", "canary-1b-v2", "config.pbtxt")
	edited, _ := os.ReadFile(cfg)
	edited = append(edited, "# max_batch_size lowered by the user\n"...)
	os.WriteFile(cfg, edited, 0o644)
	var rec2 recorder
	if err := m.Start(ctx, opts, rec2.add); err != nil {
		t.Fatalf("second start: %v", err)
	}
	if _, ok := rec2.find(localserver.PhasePrepare, "Kept your changes to repository/canary-1b-v2/config.pbtxt"); !ok {
		t.Errorf("the kept edit was not reported: %+v", rec2.events)
	}
	if got, _ := os.ReadFile(cfg); string(got) != string(edited) {
		t.Error("Start overwrote the user's edit")
	}
	for _, c := range f.calls()[before:] {
		if slices.Contains(c, "build") {
			t.Errorf("second start built again: %v", c)
		}
	}

	// The server stops under a running job: one sentence, jobs wait.
	f.killDevserver()
	f.write("state", "exited 137\n")
	s, _ = m.Status(ctx)
	if s.State != localserver.StatusStopped || s.Code != localserver.CodeServerStopped || !strings.Contains(s.Message, "exit code 137") || !strings.Contains(s.Message, "jobs wait") {
		t.Errorf("stopped under the app: %+v", s)
	}
	// Docker itself stops.
	f.script("compose-ps", "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n", 1)
	s, _ = m.Status(ctx)
	if s.State != localserver.StatusNoDocker || s.Code != localserver.CodeDockerNotRunning || !strings.Contains(s.Message, "Docker stopped under the running local server") {
		t.Errorf("docker stopped: %+v", s)
	}
	f.remove("compose-ps.stderr")
	f.remove("compose-ps.exit")

	// Restart brings it back; Stop stops it; Remove removes it with the cache.
	if err := m.Restart(ctx, nil); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ = m.Status(ctx); s.State != localserver.StatusStopped || s.Code != "" || s.Message != "The local server is stopped" {
		t.Errorf("after stop: %+v", s)
	}
	if _, err := net.DialTimeout("tcp", opts.Address(), 200*time.Millisecond); err == nil {
		t.Error("the server still answers after Stop")
	}
	if err := m.Remove(ctx, localserver.RemoveOptions{Cache: true}); err != nil {
		t.Fatal(err)
	}
	if !f.called("down", "--remove-orphans", "--volumes") {
		t.Errorf("remove: %v", f.calls())
	}
}

func TestStartCPUProfileAndLAN(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.healthyLinux()
	f.write("image", "built")
	m := newManager(t, probe.Inference{})
	withDTMF(t, m)
	opts := startOptions(t)
	opts.Profile, opts.ShareLAN = localserver.ProfileCPU, true
	if err := m.Start(ctx, opts, nil); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	if !f.called("-f", filepath.Join(m.Dir(), "compose.cpu.yaml"), "up") {
		t.Errorf("the CPU profile's override was not used: %v", f.calls())
	}
	env, _ := os.ReadFile(filepath.Join(m.Dir(), "nemo-transcribe-local.env"))
	if !strings.Contains(string(env), "TRITON_BIND=0.0.0.0\n") || !strings.Contains(string(env), "TRITON_HTTP_BIND=127.0.0.1\n") {
		t.Errorf("share on the LAN opens gRPC only:\n%s", env)
	}
	list, _ := m.Models(localserver.ProfileCPU)
	if len(list) < 4 {
		t.Errorf("CPU models: %+v", list)
	}
}

// TestStartFaults: each fault is one sentence with its code.
func TestStartFaults(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, f *fake, opts *localserver.StartOptions) func()
		docker string
		code   apperr.Code
		words  []string
		noUp   bool // compose up must not have run
	}{
		{
			name:   "docker missing",
			docker: "no-such-docker-here",
			code:   localserver.CodeDockerMissing, words: []string{"Docker is not installed"}, noUp: true,
		},
		{
			name: "engine not running",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.script("version", "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n", 1)
				return nil
			},
			code: localserver.CodeDockerNotRunning, words: []string{"not running"}, noUp: true,
		},
		{
			name: "docker permission",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.script("version", "", "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n", 1)
				return nil
			},
			code: localserver.CodeDockerPermission, words: []string{"docker group"}, noUp: true,
		},
		{
			name: "port taken by another program",
			setup: func(t *testing.T, f *fake, opts *localserver.StartOptions) func() {
				l, err := net.Listen("tcp", opts.Address())
				if err != nil {
					t.Fatal(err)
				}
				return func() { l.Close() }
			},
			code: localserver.CodePortInUse, words: []string{"already in use", "choose another port"}, noUp: true,
		},
		{
			name: "port taken as docker reports it",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.script("compose-up", "", "Error response from daemon: driver failed programming external connectivity on endpoint nemo-transcribe-triton-1 (1f2e): Bind for 127.0.0.1:8001 failed: port is already allocated\n", 1)
				return nil
			},
			code: localserver.CodePortInUse, words: []string{"port 8001 on 127.0.0.1"},
		},
		{
			name: "compose failure",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.script("compose-up", "", "validating compose.yaml: services.triton.deploy.resources.reservations.devices.0 additional properties 'foo' not allowed\n", 15)
				return nil
			},
			code: localserver.CodeCompose, words: []string{"Starting the server failed: validating compose.yaml"},
		},
		{
			name: "image pull offline",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.remove("image")
				f.script("compose-build", "#2 [triton internal] load metadata for nvcr.io/nvidia/tritonserver:25.10-py3\n",
					"failed to solve: nvcr.io/nvidia/tritonserver:25.10-py3: failed to resolve source metadata for nvcr.io/nvidia/tritonserver:25.10-py3: failed to do request: Head \"https://nvcr.io/v2/nvidia/tritonserver/manifests/25.10-py3\": dial tcp: lookup nvcr.io on 127.0.0.53:53: no such host\n", 17)
				return nil
			},
			code: localserver.CodeOffline, words: []string{"offline", "nvcr.io"}, noUp: true,
		},
		{
			name: "disk full",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.remove("image")
				f.script("compose-build", "", "ERROR: failed to solve: write /var/lib/docker/tmp/x: no space left on device\n", 1)
				return nil
			},
			code: localserver.CodeDiskFull, words: []string{"full"}, noUp: true,
		},
		{
			name: "no GPU for the container",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.script("compose-up", "", "Error response from daemon: could not select device driver \"nvidia\" with capabilities: [[gpu]]\n", 1)
				return nil
			},
			code: localserver.CodeGPUUnavailable, words: []string{"NVIDIA Container Toolkit"},
		},
		{
			name: "model fails to load: Triton's reason from the index",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.write("devserver.args", "--fail-load\ndtmf=RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
				return nil
			},
			code: localserver.CodeModelLoad, words: []string{"The model dtmf failed to load: RuntimeError: CUDA out of memory"},
		},
		{
			name: "model fails to load: the reason from the log of a Triton that exits",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.write("devserver.args", "--ready-after\n1h\n")
				f.write("startup.log", "I1202 1 model_lifecycle.cc:473] \"loading: dtmf:1\"\nE1202 1 model_lifecycle.cc:654] \"failed to load 'dtmf' version 1: Internal: RuntimeError: canary-1b-v2: this NeMo cannot give timestamps for audio arrays\"\n")
				return nil
			},
			code: localserver.CodeModelLoad, words: []string{"The model dtmf failed to load: Internal: RuntimeError: canary-1b-v2: this NeMo"},
		},
		{
			name: "the container exits while starting",
			setup: func(t *testing.T, f *fake, _ *localserver.StartOptions) func() {
				f.write("devserver.args", "--ready-after\n1h\n")
				f.script("compose-ps", `{"Name":"nemo-transcribe-triton-1","Service":"triton","State":"exited","ExitCode":2}`+"\n", "", 0)
				return nil
			},
			code: localserver.CodeServerStopped, words: []string{"stopped while starting (exit code 2)"},
		},
		{
			name: "unknown model",
			setup: func(t *testing.T, f *fake, opts *localserver.StartOptions) func() {
				opts.Models = []string{"whisper"}
				return nil
			},
			code: apperr.CodeUnknownModel, words: []string{"no model \"whisper\"", "parakeet-tdt-0.6b-v2"}, noUp: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			f.healthyLinux()
			f.write("image", "built")
			m := localserver.New(localserver.Config{Dir: filepath.Join(t.TempDir(), "ls"), Docker: tc.docker, Prober: probe.Inference{}, Poll: 50 * time.Millisecond, StartTimeout: 20 * time.Second, GOOS: "linux"})
			withDTMF(t, m)
			opts := startOptions(t)
			if tc.setup != nil {
				if undo := tc.setup(t, f, &opts); undo != nil {
					defer undo()
				}
			}
			err := m.Start(ctx, opts, nil)
			if err == nil {
				m.Stop(ctx)
				t.Fatal("started")
			}
			if apperr.CodeOf(err) != tc.code {
				t.Errorf("code %s (%v), want %s", apperr.CodeOf(err), err, tc.code)
			}
			for _, w := range tc.words {
				if !strings.Contains(apperr.Message(err), w) {
					t.Errorf("message %q lacks %q", apperr.Message(err), w)
				}
			}
			if strings.Contains(apperr.Message(err), "\n") {
				t.Errorf("not one sentence: %q", apperr.Message(err))
			}
			if tc.noUp && f.called("up") {
				t.Errorf("compose up ran: %v", f.calls())
			}
		})
	}
}

// TestHangingDockerIsGivenUp: every command runs under a deadline.
func TestHangingDockerIsGivenUp(t *testing.T) {
	f := newFake(t)
	f.healthyLinux()
	f.write("version.sleep", "20s")
	m := localserver.New(localserver.Config{Dir: filepath.Join(t.TempDir(), "ls"), Prober: probe.Inference{}, CommandTimeout: 300 * time.Millisecond, GOOS: "linux"})
	start := time.Now()
	err := m.Start(context.Background(), localserver.StartOptions{Models: []string{"parakeet-tdt-0.6b-v2"}}, nil)
	if apperr.CodeOf(err) != localserver.CodeTimeout || time.Since(start) > 10*time.Second {
		t.Errorf("%v after %s", err, time.Since(start))
	}
	r := m.Detect(context.Background())
	if c := r.Check(localserver.CheckEngine); c.State != localserver.StateMissing || !strings.Contains(c.Fix, "did not answer in time") {
		t.Errorf("detect: %+v", c)
	}
}

// TestStopInterruptsAStart: Stop does not wait for a start that can take
// an hour; the start ends with its own sentence and the server is stopped.
func TestStopInterruptsAStart(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.healthyLinux()
	f.write("image", "built")
	f.write("devserver.args", "--ready-after\n1h\n")
	m := newManager(t, probe.Inference{})
	withDTMF(t, m)
	opts := startOptions(t)
	loading := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- m.Start(ctx, opts, func(p localserver.Progress) {
			if p.Phase == localserver.PhaseLoading {
				select {
				case loading <- struct{}{}:
				default:
				}
			}
		})
	}()
	select {
	case <-loading:
	case err := <-errc:
		t.Fatalf("start ended: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no loading progress")
	}
	if !m.IsLocal(opts.Address()) || !m.IsLocal("localhost:"+strconv.Itoa(opts.GRPCPort)) || m.IsLocal("gpu-box:"+strconv.Itoa(opts.GRPCPort)) {
		t.Error("IsLocal")
	}
	stopped := time.Now()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if apperr.CodeOf(err) != apperr.CodeCanceled || !strings.Contains(apperr.Message(err), "stopped before the server was ready") {
		t.Errorf("start: %v", err)
	}
	if time.Since(stopped) > 10*time.Second {
		t.Errorf("stop took %s", time.Since(stopped))
	}
	if s, _ := m.Status(ctx); s.State != localserver.StatusStopped || s.Code != "" {
		t.Errorf("after stop: %+v", s)
	}
	if note := localserver.LANNote(opts.GRPCPort); !strings.Contains(note, strconv.Itoa(opts.GRPCPort)) || !strings.Contains(note, "TLS") {
		t.Errorf("LAN note %q", note)
	}
}

func TestWatchReportsChanges(t *testing.T) {
	f := newFake(t)
	f.healthyLinux()
	f.write("image", "built")
	m := newManager(t, probe.Inference{})
	withDTMF(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	states := make(chan localserver.ServerState, 64)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		m.Watch(ctx, 50*time.Millisecond, func(s localserver.Status) {
			select {
			case states <- s.State:
			default:
			}
		})
	}()
	defer func() { cancel(); <-watched }()
	want := func(st localserver.ServerState) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case got := <-states:
				if got == st {
					return
				}
			case <-timeout:
				t.Fatalf("no %s", st)
			}
		}
	}
	want(localserver.StatusNotSetUp)
	if err := m.Start(context.Background(), startOptions(t), nil); err != nil {
		t.Fatal(err)
	}
	want(localserver.StatusReady)
	m.Stop(context.Background())
	want(localserver.StatusStopped)
}
