package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver/probe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// The fake docker and nvidia-smi (backend/localserver/internal) and the
// devserver their "up" starts, built once for the tests that need them.
var (
	fakesOnce sync.Once
	fakesDir  string
	fakesErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fakesDir != "" {
		os.RemoveAll(fakesDir)
	}
	os.Exit(code)
}

func buildFakes(t *testing.T) string {
	t.Helper()
	fakesOnce.Do(func() {
		fakesDir, fakesErr = os.MkdirTemp("", "app-localserver-fakes-")
		if fakesErr != nil {
			return
		}
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
			if out, err := exec.Command("go", "build", "-o", filepath.Join(fakesDir, name+exe), pkg).CombinedOutput(); err != nil {
				fakesErr = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if fakesErr != nil {
		t.Fatal(fakesErr)
	}
	return fakesDir
}

// dockerFake is one test's scripted docker (see fakedocker's package
// comment): its folder of scripts, on PATH with nvidia-smi.
type dockerFake struct {
	t   *testing.T
	dir string
}

// newDockerFake puts the fakes first on PATH; without docker, only
// nvidia-smi is there and docker is missing.
func newDockerFake(t *testing.T, withDocker bool) *dockerFake {
	t.Helper()
	bin := buildFakes(t)
	f := &dockerFake{t: t, dir: t.TempDir()}
	path := bin
	if !withDocker {
		path = t.TempDir()
		data, err := os.ReadFile(filepath.Join(bin, "nvidia-smi"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path, "nvidia-smi"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", path) // no docker anywhere
	} else {
		t.Setenv("PATH", path+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	t.Setenv("FAKE_DOCKER_DIR", f.dir)
	t.Setenv("FAKE_DEVSERVER", filepath.Join(bin, "triton-devserver"))
	t.Cleanup(f.killDevserver)
	f.write("version.stdout", `{"Client":{"Platform":{"Name":"Docker Engine - Community"},"Version":"27.3.1"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Version":"27.3.1","Os":"linux","KernelVersion":"6.1.0-18-amd64"}}`+"\n")
	f.write("info.stdout", `{"OperatingSystem":"Debian GNU/Linux 12 (bookworm)","OSType":"linux","KernelVersion":"6.1.0-18-amd64","DockerRootDir":"/","ServerVersion":"27.3.1","Runtimes":{"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}}`+"\n")
	f.write("nvidia-smi.stdout", "NVIDIA GeForce RTX 4090, 581.57, 24564 MiB\n")
	f.write("nvidia-smi.exit", "0")
	return f
}

func (f *dockerFake) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// calls are the fake docker's command lines so far.
func (f *dockerFake) calls() []string {
	data, _ := os.ReadFile(filepath.Join(f.dir, "calls.log"))
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var c struct{ Args []string }
		if json.Unmarshal([]byte(line), &c) == nil {
			out = append(out, strings.Join(c.Args, " "))
		}
	}
	return out
}

func (f *dockerFake) killDevserver() {
	b, err := os.ReadFile(filepath.Join(f.dir, "devserver.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
			p.Wait()
		}
	}
}

// localManager is a manager over a temporary data folder that also offers
// the devserver's model, dtmf, as a folder the user added.
func localManager(t *testing.T) *localserver.Manager {
	t.Helper()
	m := localserver.New(localserver.Config{
		Dir:            filepath.Join(t.TempDir(), "local-server"),
		Prober:         probe.Inference{},
		Poll:           50 * time.Millisecond,
		StartTimeout:   30 * time.Second,
		CommandTimeout: 20 * time.Second,
		GOOS:           "linux",
	})
	if _, err := m.WriteFiles(context.Background(), localserver.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"repository", "repository-cpu"} {
		dir := filepath.Join(m.Dir(), repo, "dtmf")
		if err := os.MkdirAll(filepath.Join(dir, "1"), 0o755); err != nil {
			t.Fatal(err)
		}
		cfg := "name: \"dtmf\"\nbackend: \"python\"\nparameters [ { key: \"nemo_model\", value: { string_value: \"nvidia/dtmf\" } } ]\n"
		if err := os.WriteFile(filepath.Join(dir, "config.pbtxt"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func threePorts(t *testing.T) (grpc, http, metrics int) {
	t.Helper()
	var ports []int
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports[0], ports[1], ports[2]
}

// writeDTMF writes a 16 kHz WAV of the keys 4, 2 and 7 pressed.
func writeDTMF(t *testing.T) string {
	t.Helper()
	clip := dtmf.Synthesize([]dtmf.Press{{Key: '4', Start: 0.3, End: 0.5}, {Key: '2', Start: 0.9, End: 1.1}, {Key: '7', Start: 1.5, End: 1.7}}, 16000, 2.2, dtmf.SynthOptions{})
	path := filepath.Join(t.TempDir(), "keys.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := audio.WriteWAV(f, clip, 16000, 1, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	return path
}

// realApp is the app over a real engine and queue, with its settings in a
// file, dialling through the app as main wires it.
func realApp(t *testing.T, rec *recorder) (*App, *transcribe.Queue, string) {
	t.Helper()
	settingsPath := filepath.Join(t.TempDir(), config.SettingsFileName)
	st, err := config.OpenSettings(settingsPath)
	if err != nil {
		t.Fatal(err)
	}
	var a *App
	eng, err := transcribe.Open(transcribe.Config{Connect: func(addr string) (*inference.Server, error) { return a.connect(addr) }})
	if err != nil {
		t.Fatal(err)
	}
	q := transcribe.NewQueue(eng, transcribe.QueueOptions{})
	t.Cleanup(func() { q.Close(); eng.Close() })
	a = NewApp(eng, q, st, rec.emit)
	t.Cleanup(func() { a.shutdown(context.Background()) })
	return a, q, settingsPath
}

// waitJob waits (bounded) until job id is in a final state.
func waitJob(t *testing.T, q *transcribe.Queue, id transcribe.JobID, within time.Duration) transcribe.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, ok := q.Job(id)
		if ok && (j.State == transcribe.StageDone || j.State == transcribe.StageFailed || j.State == transcribe.StageCancelled) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s after %s: %+v", id, j.State, within, j.Progress)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *recorder) progress() []LocalProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LocalProgress
	for _, e := range r.events {
		if e.name == EventLocalServerProgress && len(e.data) == 1 {
			if p, ok := e.data[0].(LocalProgress); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// Nothing about the local server runs before the user asks: making the
// app, reading its settings and asking whether the server is the local
// one call no docker; Detect does, and finds the fake machine.
func TestLocalServerRunsNothingUntilAsked(t *testing.T) {
	f := newDockerFake(t, true)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	var rec recorder
	a, _, _ := realApp(t, &rec)
	a.GetSettings()
	if a.IsLocalServer("") || a.IsLocalServer("127.0.0.1:8001") {
		t.Error("a server never started is the local one")
	}
	if calls := f.calls(); len(calls) != 0 {
		t.Fatalf("docker ran before any button: %v", calls)
	}
	r, err := a.LocalServerDetect()
	if err != nil {
		t.Fatal(err)
	}
	if !r.CanStart || r.Profile != localserver.ProfileGPU || r.Check(localserver.CheckGPU).Found != "NVIDIA GeForce RTX 4090 (24 GB)" {
		t.Errorf("detect: %+v", r)
	}
	if len(f.calls()) == 0 {
		t.Error("Detect asked docker nothing")
	}
	want, _ := localserver.DefaultDir()
	if got := a.local.(*localserver.Manager).Dir(); got != want || !strings.HasPrefix(got, os.Getenv("XDG_DATA_HOME")) {
		t.Errorf("the local server's folder is %s, want %s in the data folder", got, want)
	}
	list, err := a.LocalServerModels("cpu")
	if err != nil || len(list) < 3 {
		t.Errorf("models: %+v %v", list, err)
	}
}

// The whole flow through the bindings: a file queued while no server
// answers fails and waits; Start sends progress in words up to ready,
// points the saved settings at the local server, and the waiting file is
// transcribed there; a new file transcribes too; Logs, Status, Stop.
func TestLocalServerStartTranscribeStop(t *testing.T) {
	f := newDockerFake(t, true)
	f.write("startup.log", "serve.sh: starting Triton with: --load-model=dtmf\n"+
		"I1202 10:00:00.000000 1 model_lifecycle.cc:473] \"loading: dtmf:1\"\n"+
		"dtmf.nemo:  45%|████▌     | 1.11G/2.47G [00:10<00:12, 110MB/s]\n"+
		"I1202 10:00:30.000000 1 model_lifecycle.cc:849] \"successfully loaded 'dtmf'\"\n")
	f.write("devserver.args", "--ready-after\n1s\n")
	var rec recorder
	a, q, settingsPath := realApp(t, &rec)
	a.local = localManager(t)
	grpcPort, httpPort, metricsPort := threePorts(t)

	// Before: the settings name a server that is not there.
	s := a.GetSettings()
	s.Server, s.Model, s.TLS = net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort)), "parakeet-tdt-0.6b-v2", true
	if _, err := a.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	wav := writeDTMF(t)
	added := a.AddFiles([]string{wav})
	if len(added.Added) != 1 {
		t.Fatalf("add: %+v", added)
	}
	early := waitJob(t, q, added.Added[0], 60*time.Second)
	if early.State != transcribe.StageFailed || !waitingForServer(early.ErrorCode) {
		t.Fatalf("with no server the job is %s (%s: %s), want failed waiting for a server", early.State, early.ErrorCode, early.Error)
	}

	opts := localserver.StartOptions{Models: []string{"dtmf"}, GRPCPort: grpcPort, HTTPPort: httpPort, MetricsPort: metricsPort}
	saved, err := a.LocalServerStart(opts)
	if err != nil {
		t.Fatalf("start: %v", formatError(err))
	}
	prog := rec.progress()
	var phases []localserver.Phase
	for i, p := range prog {
		if p.Seq != int64(i+1) {
			t.Errorf("progress %d is numbered %d", i+1, p.Seq)
		}
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}
	if len(prog) == 0 || prog[len(prog)-1].Phase != localserver.PhaseReady || prog[len(prog)-1].Address != opts.Address() {
		t.Fatalf("progress %v, want ready at %s last", phases, opts.Address())
	}
	for _, want := range []localserver.Phase{localserver.PhasePrepare, localserver.PhaseImageDownload, localserver.PhaseContainer, localserver.PhaseModelDownload, localserver.PhaseLoading} {
		found := false
		for _, p := range phases {
			found = found || p == want
		}
		if !found {
			t.Errorf("no %s among the progress phases %v", want, phases)
		}
	}

	// The setting points at it, saved to disk, plaintext, with its model.
	if saved.Server != opts.Address() || saved.Model != "dtmf" || saved.TLS {
		t.Errorf("saved settings: server %q model %q tls %v", saved.Server, saved.Model, saved.TLS)
	}
	reread, err := config.OpenSettings(settingsPath)
	if err != nil || reread.Get().Server != opts.Address() || reread.Get().Model != "dtmf" {
		t.Errorf("the settings file says %+v (%v)", reread.Get(), err)
	}
	if !a.IsLocalServer("") || !a.IsLocalServer(opts.Address()) {
		t.Error("the configured server is not recognised as the local one")
	}

	// The job that waited goes on at the local server.
	again := waitJob(t, q, added.Added[0], 60*time.Second)
	if again.State != transcribe.StageDone || again.Request.Server != opts.Address() || again.Request.Model != "dtmf" {
		t.Fatalf("the waiting job: %s %q (%s) at %s with %s", again.State, again.Error, again.ErrorCode, again.Request.Server, again.Request.Model)
	}
	res, err := q.Result(again.ID)
	if err != nil || res.Transcript.Text != "4 2 7" {
		t.Errorf("transcript %q (%v), want the keys 4 2 7", res.Transcript.Text, err)
	}
	// And a new one.
	next := a.AddFiles([]string{wav})
	if j := waitJob(t, q, next.Added[0], 60*time.Second); j.State != transcribe.StageDone {
		t.Errorf("a new job: %s %s", j.State, j.Error)
	}

	st, err := a.LocalServerStatus()
	if err != nil || st.State != localserver.StatusReady || st.Label != "local server" || st.Address != opts.Address() {
		t.Errorf("status: %+v %v", st, err)
	}
	logs, err := a.LocalServerLogs(20)
	if err != nil || !strings.Contains(logs, "successfully loaded 'dtmf'") {
		t.Errorf("logs: %q %v", logs, err)
	}

	if err := a.LocalServerStop(); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.LocalServerStatus(); st.State != localserver.StatusStopped {
		t.Errorf("after stop: %+v", st)
	}
	if c, err := net.DialTimeout("tcp", opts.Address(), 300*time.Millisecond); err == nil {
		c.Close()
		t.Error("the server still answers after Stop")
	}
	if err := a.LocalServerRemove(true); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range f.calls() {
		found = found || strings.HasSuffix(c, "down --remove-orphans --volumes")
	}
	if !found {
		t.Errorf("remove with the cache ran no down --volumes: %v", f.calls())
	}
}

// Faults come back as one sentence with their code, and the settings stay
// as they were.
func TestLocalServerStartFaults(t *testing.T) {
	tests := []struct {
		name       string
		withDocker bool
		setup      func(t *testing.T, f *dockerFake, grpcPort int)
		code       apperr.Code
		says       string
	}{
		{
			name:       "docker missing",
			withDocker: false,
			code:       localserver.CodeDockerMissing,
			says:       "Docker is not installed: install Docker Engine",
		},
		{
			name:       "engine not running",
			withDocker: true,
			setup: func(t *testing.T, f *dockerFake, _ int) {
				f.write("version.stderr", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n")
				f.write("version.exit", "1")
			},
			code: localserver.CodeDockerNotRunning,
			says: "its engine is not running",
		},
		{
			name:       "port taken",
			withDocker: true,
			setup: func(t *testing.T, f *dockerFake, grpcPort int) {
				l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort)))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
			},
			code: localserver.CodePortInUse,
			says: "is already in use by another program",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newDockerFake(t, tc.withDocker)
			var rec recorder
			a, _, _ := realApp(t, &rec)
			a.local = localManager(t)
			grpcPort, httpPort, metricsPort := threePorts(t)
			if tc.setup != nil {
				tc.setup(t, f, grpcPort)
			}
			before := a.GetSettings()
			_, err := a.LocalServerStart(localserver.StartOptions{Models: []string{"dtmf"}, GRPCPort: grpcPort, HTTPPort: httpPort, MetricsPort: metricsPort})
			if apperr.CodeOf(err) != tc.code {
				t.Fatalf("code %q (%v), want %q", apperr.CodeOf(err), err, tc.code)
			}
			msg := formatError(err).(rejection).Message
			if !strings.Contains(msg, tc.says) || strings.Count(msg, ". ") > 0 || !strings.HasSuffix(msg, ".") {
				t.Errorf("message %q: want one sentence saying %q", msg, tc.says)
			}
			if tc.code == localserver.CodePortInUse && !strings.Contains(msg, strconv.Itoa(grpcPort)) {
				t.Errorf("message %q does not name the port %d", msg, grpcPort)
			}
			if after := a.GetSettings(); after.Server != before.Server || after.Model != before.Model {
				t.Errorf("a failed start changed the settings: %+v", after)
			}
			if a.IsLocalServer("") {
				t.Error("after a failed start the configured server counts as the local one")
			}
			if tc.code == localserver.CodeDockerMissing {
				r, _ := a.LocalServerDetect()
				if c := r.Check(localserver.CheckDocker); c.State != localserver.StateMissing || !strings.Contains(c.Fix, "install Docker Engine") || r.CanStart {
					t.Errorf("detect without docker: %+v", r)
				}
			}
		})
	}
}
