package localserver_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
)

func TestDetect(t *testing.T) {
	const (
		versionDesktop = `{"Client":{"Version":"27.3.1"},"Server":{"Platform":{"Name":"Docker Desktop 4.35.1 (173168)"},"Version":"27.3.1","Os":"linux","KernelVersion":"5.15.153.1-microsoft-standard-WSL2"}}`
		infoDesktop    = `{"OperatingSystem":"Docker Desktop","OSType":"linux","KernelVersion":"5.15.153.1-microsoft-standard-WSL2","DockerRootDir":"/var/lib/docker","Runtimes":{"runc":{}}}`
		notRunning     = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
	)
	type want struct {
		states   map[localserver.CheckID]localserver.CheckState
		fix      map[localserver.CheckID]string // a word the Fix sentence must contain
		profile  localserver.Profile
		canStart bool
	}
	cases := []struct {
		name   string
		goos   string
		setup  func(f *fake)
		docker string // Config.Docker ("" = the fake)
		smi    string
		want   want
	}{
		{
			name:  "linux with the toolkit and a new driver",
			setup: func(f *fake) { f.healthyLinux() },
			want: want{states: map[localserver.CheckID]localserver.CheckState{"docker": "ok", "engine": "ok", "compose": "ok", "gpu": "ok", "driver": "ok", "gpu_in_docker": "ok"},
				profile: localserver.ProfileGPU, canStart: true},
		},
		{
			name:   "docker missing",
			docker: "no-such-docker-here",
			setup:  func(f *fake) { f.script("nvidia-smi", smiOK, "", 0) },
			want: want{states: map[localserver.CheckID]localserver.CheckState{"docker": "missing", "engine": "skipped", "compose": "skipped", "gpu": "ok", "gpu_in_docker": "skipped"},
				fix: map[localserver.CheckID]string{"docker": "Docker Engine"}, profile: localserver.ProfileCPU},
		},
		{
			name: "engine not running",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("version", `{"Client":{"Version":"27.3.1"},"Server":null}`+"\n", notRunning, 1)
				f.script("info", "", notRunning, 1)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"docker": "ok", "engine": "missing", "gpu_in_docker": "skipped"},
				fix: map[localserver.CheckID]string{"engine": "systemctl start docker"}, profile: localserver.ProfileCPU},
		},
		{
			name: "no container toolkit",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("info", `{"OSType":"linux","DockerRootDir":"/","Runtimes":{"runc":{}}}`+"\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"gpu_in_docker": "missing"},
				fix: map[localserver.CheckID]string{"gpu_in_docker": "NVIDIA Container Toolkit"}, profile: localserver.ProfileCPU, canStart: true},
		},
		{
			name: "CDI devices instead of the runtime",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("info", `{"OSType":"linux","DockerRootDir":"/","Runtimes":{"runc":{}},"DiscoveredDevices":[{"Source":"cdi","ID":"nvidia.com/gpu=0"}]}`+"\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"gpu_in_docker": "ok"}, profile: localserver.ProfileGPU, canStart: true},
		},
		{
			name: "driver too old for the pinned image",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("nvidia-smi", "NVIDIA GeForce RTX 3060, 550.120, 12288 MiB\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"gpu": "ok", "driver": "missing"},
				fix: map[localserver.CheckID]string{"driver": "580.95.05"}, profile: localserver.ProfileCPU, canStart: true},
		},
		{
			name:  "no NVIDIA GPU",
			smi:   "no-such-nvidia-smi",
			setup: func(f *fake) { f.healthyLinux() },
			want: want{states: map[localserver.CheckID]localserver.CheckState{"gpu": "missing", "driver": "skipped", "gpu_in_docker": "skipped"},
				fix: map[localserver.CheckID]string{"gpu": "CPU profile"}, profile: localserver.ProfileCPU, canStart: true},
		},
		{
			name: "driver not loaded",
			setup: func(f *fake) {
				f.healthyLinux()
				f.remove("nvidia-smi.stdout")
				f.remove("nvidia-smi.exit")
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"gpu": "missing"}, fix: map[localserver.CheckID]string{"gpu": "reinstall the NVIDIA driver"}, profile: localserver.ProfileCPU, canStart: true},
		},
		{
			name: "compose v2 missing",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("compose-version", "", "docker: 'compose' is not a docker command.\n", 1)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"compose": "missing"}, fix: map[localserver.CheckID]string{"compose": "docker-compose-plugin"}, profile: localserver.ProfileCPU},
		},
		{
			name: "compose too old for the CPU profile",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("compose-version", "v2.20.2\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"compose": "warning"}, profile: localserver.ProfileGPU, canStart: true},
		},
		{
			name: "windows: Docker Desktop with WSL 2",
			goos: "windows",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("version", versionDesktop+"\n", "", 0)
				f.script("info", infoDesktop+"\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"engine": "ok", "gpu_in_docker": "ok"}, profile: localserver.ProfileGPU, canStart: true},
		},
		{
			name: "windows: Docker Desktop not running",
			goos: "windows",
			setup: func(f *fake) {
				f.healthyLinux()
				msg := "error during connect: Get \"http://%2F%2F.%2Fpipe%2FdockerDesktopLinuxEngine/v1.47/version\": open //./pipe/dockerDesktopLinuxEngine: The system cannot find the file specified.\n"
				f.script("version", `{"Client":{"Version":"27.3.1"},"Server":null}`+"\n", msg, 1)
				f.script("info", "", msg, 1)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"engine": "missing"}, fix: map[localserver.CheckID]string{"engine": "start Docker Desktop"}, profile: localserver.ProfileCPU},
		},
		{
			name: "windows: Hyper-V backend",
			goos: "windows",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("version", strings.ReplaceAll(versionDesktop, "5.15.153.1-microsoft-standard-WSL2", "6.10.14-linuxkit")+"\n", "", 0)
				f.script("info", strings.ReplaceAll(infoDesktop, "5.15.153.1-microsoft-standard-WSL2", "6.10.14-linuxkit")+"\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"gpu_in_docker": "missing"}, fix: map[localserver.CheckID]string{"gpu_in_docker": "WSL 2"}, profile: localserver.ProfileCPU, canStart: true},
		},
		{
			name: "windows: Windows containers",
			goos: "windows",
			setup: func(f *fake) {
				f.healthyLinux()
				f.script("version", versionDesktop+"\n", "", 0)
				f.script("info", strings.ReplaceAll(infoDesktop, `"OSType":"linux"`, `"OSType":"windows"`)+"\n", "", 0)
			},
			want: want{states: map[localserver.CheckID]localserver.CheckState{"engine": "missing"}, fix: map[localserver.CheckID]string{"engine": "Linux containers"}, profile: localserver.ProfileCPU},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			tc.setup(f)
			m := localserver.New(localserver.Config{Dir: filepath.Join(t.TempDir(), "ls"), Docker: tc.docker, NvidiaSMI: tc.smi, GOOS: tc.goos, CommandTimeout: 20 * time.Second})
			r := m.Detect(context.Background())
			for id, state := range tc.want.states {
				if c := r.Check(id); c.State != state {
					t.Errorf("%s: %s (%q, fix %q), want %s", id, c.State, c.Found, c.Fix, state)
				}
			}
			for id, word := range tc.want.fix {
				if c := r.Check(id); !strings.Contains(c.Fix, word) {
					t.Errorf("%s fix %q, want it to mention %q", id, c.Fix, word)
				}
			}
			for _, c := range r.Checks {
				if c.State == localserver.StateMissing && c.Fix == "" {
					t.Errorf("%s is missing without a sentence on how to get it", c.ID)
				}
			}
			if r.Profile != tc.want.profile || r.CanStart != tc.want.canStart {
				t.Errorf("profile %s canStart %v, want %s %v (%s)", r.Profile, r.CanStart, tc.want.profile, tc.want.canStart, r.ProfileNote)
			}
			if r.Profile == localserver.ProfileCPU && !strings.Contains(r.ProfileNote, "much slower") {
				t.Errorf("the CPU profile's note does not say it is much slower: %q", r.ProfileNote)
			}
			if r.MinDriver != "580.95.05" || r.CUDA != "13.0" || !strings.Contains(r.TritonImage, "tritonserver:25.10") {
				t.Errorf("pinned image %q CUDA %q driver %q", r.TritonImage, r.CUDA, r.MinDriver)
			}
		})
	}
}

func TestDetectReadsTheGPUs(t *testing.T) {
	f := newFake(t)
	f.healthyLinux()
	f.script("nvidia-smi", "NVIDIA A100-SXM4-80GB, 580.95.05, 81920 MiB\nNVIDIA A100-SXM4-80GB, 580.95.05, 81920 MiB\n", "", 0)
	r := newManager(t, nil).Detect(context.Background())
	if len(r.GPUs) != 2 || r.GPUs[0].MemoryMiB != 81920 || r.GPUs[0].Driver != "580.95.05" || r.Profile != localserver.ProfileGPU {
		t.Errorf("%+v", r)
	}
	if r.FreeBytes <= 0 || r.Check(localserver.CheckDisk).Found == "" {
		t.Errorf("disk: %d %+v", r.FreeBytes, r.Check(localserver.CheckDisk))
	}
}
