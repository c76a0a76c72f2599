package localserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// CheckID names one line of the checklist.
type CheckID string

const (
	CheckDocker      CheckID = "docker"        // the docker program
	CheckEngine      CheckID = "engine"        // the engine answers
	CheckCompose     CheckID = "compose"       // Compose v2
	CheckGPU         CheckID = "gpu"           // an NVIDIA GPU (nvidia-smi)
	CheckDriver      CheckID = "driver"        // a driver new enough for the pinned Triton image
	CheckGPUInDocker CheckID = "gpu_in_docker" // containers can use the GPU
	CheckDisk        CheckID = "disk"          // free space for the image and the model cache
)

// CheckState is how a line of the checklist came out.
type CheckState string

const (
	StateOK      CheckState = "ok"
	StateMissing CheckState = "missing" // blocks the GPU profile or every start (see Report)
	StateWarning CheckState = "warning" // may work; the Fix says what to watch
	StateSkipped CheckState = "skipped" // not checked, because an earlier line failed
)

// Check is one line of the checklist.
type Check struct {
	ID    CheckID    `json:"id"`
	Title string     `json:"title"` // e.g. "Docker"
	State CheckState `json:"state"`
	Found string     `json:"found"`         // what was found, e.g. "Docker Desktop 4.35.1, engine 27.3.1"
	Fix   string     `json:"fix,omitempty"` // one sentence on how to get it, when not ok
}

// GPU is one NVIDIA GPU nvidia-smi lists.
type GPU struct {
	Name      string `json:"name"`
	Driver    string `json:"driver"`
	MemoryMiB int    `json:"memoryMiB"`
}

// DockerInfo is what Detect learned about Docker.
type DockerInfo struct {
	ClientVersion  string   `json:"clientVersion"`
	ServerVersion  string   `json:"serverVersion"` // "" when the engine does not answer
	Platform       string   `json:"platform"`      // e.g. "Docker Desktop 4.35.1 (173168)" or "Docker Engine - Community"
	Desktop        bool     `json:"desktop"`       // Docker Desktop rather than Docker Engine
	Running        bool     `json:"running"`
	ComposeVersion string   `json:"composeVersion"`
	OSType         string   `json:"osType"`        // "linux" or "windows" (containers)
	KernelVersion  string   `json:"kernelVersion"` // the engine's kernel (WSL 2's on Docker Desktop for Windows)
	WSL2           bool     `json:"wsl2"`
	Runtimes       []string `json:"runtimes"`
	GPUDevices     []string `json:"gpuDevices,omitempty"` // CDI devices the engine discovered (nvidia.com/gpu=...)
	RootDir        string   `json:"rootDir"`
}

// Report is what Detect found: a checklist for the UI and the facts
// behind it.
type Report struct {
	OS     string     `json:"os"`
	Checks []Check    `json:"checks"`
	Docker DockerInfo `json:"docker"`
	GPUs   []GPU      `json:"gpus"`
	// The pinned Triton image (from models/Dockerfile), its CUDA and the
	// oldest NVIDIA driver it runs on.
	TritonImage string `json:"tritonImage"`
	CUDA        string `json:"cuda"`
	MinDriver   string `json:"minDriver"`
	// Free space where the image and the model cache go.
	DiskPath  string `json:"diskPath"`
	FreeBytes int64  `json:"freeBytes"` // -1 when unknown
	NeedBytes int64  `json:"needBytes"`
	// Profile is the profile to offer: ProfileGPU when every GPU line is
	// ok, else ProfileCPU.
	Profile Profile `json:"profile"`
	// ProfileNote says in one sentence what the profile means; for the CPU
	// profile, plainly that it is much slower.
	ProfileNote string `json:"profileNote"`
	// GPUReady is true when the GPU profile can start; CanStart when the
	// offered Profile can.
	GPUReady bool `json:"gpuReady"`
	CanStart bool `json:"canStart"`
}

// Check returns the line with id.
func (r Report) Check(id CheckID) Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return Check{ID: id, State: StateSkipped}
}

// needDiskGB is the space the first start takes: the image (NVIDIA's
// Triton image with PyTorch and NeMo, about 20 GB unpacked) and a few
// checkpoints.
const needDiskGB = 30

// tritonDrivers is Triton's compatibility matrix for the releases we pin
// (server docs/introduction/compatibility.md): CUDA and the oldest driver.
// A test fails when models/Dockerfile pins a release missing here.
var tritonDrivers = map[string]struct{ CUDA, Driver string }{
	"25.10": {"13.0", "580.95.05"},
}

var reTritonPin = regexp.MustCompile(`(?m)^ARG TRITON_IMAGE=(\S+:(\d\d\.\d\d)-py3)\s*$`)

// pinnedTriton reads the Triton image, its CUDA and the driver it needs
// from the embedded Dockerfile.
func pinnedTriton() (image, cuda, driver string) {
	data, _ := fs.ReadFile(models.ServerFiles(), "Dockerfile")
	m := reTritonPin.FindStringSubmatch(string(data))
	if m == nil {
		return "", "", ""
	}
	d := tritonDrivers[m[2]]
	return m[1], d.CUDA, d.Driver
}

// Detect looks for everything the local server needs, without changing
// anything. It never fails: what it cannot find becomes a line of the
// checklist with a sentence on how to get it.
func (m *Manager) Detect(ctx context.Context) Report {
	goos := m.cfg.GOOS
	r := Report{OS: goos, FreeBytes: -1, NeedBytes: needDiskGB << 30}
	r.TritonImage, r.CUDA, r.MinDriver = pinnedTriton()
	timeout := min(m.cfg.CommandTimeout, 30*time.Second)
	var version, compose, info, smi result
	var wg sync.WaitGroup
	wg.Go(func() {
		version = run(ctx, command{name: m.cfg.Docker, args: []string{"version", "--format", "{{json .}}"}, timeout: timeout})
	})
	wg.Go(func() {
		compose = run(ctx, command{name: m.cfg.Docker, args: []string{"compose", "version", "--short"}, timeout: timeout})
	})
	wg.Go(func() {
		info = run(ctx, command{name: m.cfg.Docker, args: []string{"info", "--format", "{{json .}}"}, timeout: timeout})
	})
	wg.Go(func() {
		smi = run(ctx, command{name: m.cfg.NvidiaSMI, args: []string{"--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"}, timeout: timeout})
	})
	wg.Wait()

	dockerOK := m.detectDocker(&r, version, info)
	composeOK := m.detectCompose(&r, compose, dockerOK)
	gpuOK, driverOK := m.detectGPU(&r, smi)
	inDockerOK := m.detectGPUInDocker(&r, gpuOK)
	m.detectDisk(&r)

	engineOK := dockerOK && r.Check(CheckEngine).State == StateOK && composeOK
	r.GPUReady = engineOK && gpuOK && driverOK && inDockerOK
	if r.GPUReady {
		r.Profile = ProfileGPU
		r.ProfileNote = fmt.Sprintf("The server runs on the NVIDIA GPU (%s).", r.GPUs[0].Name)
		r.CanStart = true
	} else {
		r.Profile = ProfileCPU
		r.CanStart = engineOK && composeAtLeast(r.Docker.ComposeVersion, 2, 24)
		why := "No usable NVIDIA GPU was found"
		if gpuOK {
			why = "The NVIDIA GPU cannot be used yet (see above)"
		}
		r.ProfileNote = why + ": the server can run the same models on the processor instead (the CPU profile), but transcription is much slower than on a GPU."
		if engineOK && !composeAtLeast(r.Docker.ComposeVersion, 2, 24) {
			r.ProfileNote += " The CPU profile needs Docker Compose 2.24 or newer: update Docker."
		}
	}
	return r
}

type versionJSON struct {
	Client *struct {
		Version  string
		Platform struct{ Name string }
	}
	Server *struct {
		Version       string
		Platform      struct{ Name string }
		Os            string
		KernelVersion string
	}
}

type infoJSON struct {
	OperatingSystem   string
	OSType            string
	KernelVersion     string
	DockerRootDir     string
	ServerVersion     string
	Runtimes          map[string]json.RawMessage
	DiscoveredDevices []struct{ Source, ID string }
	ServerErrors      []string
}

func (m *Manager) detectDocker(r *Report, version, info result) bool {
	goos := m.cfg.GOOS
	if notFound(version) {
		r.Checks = append(r.Checks,
			Check{ID: CheckDocker, Title: "Docker", State: StateMissing, Found: "not installed", Fix: dockerMissingSentence(goos)},
			Check{ID: CheckEngine, Title: "Docker engine", State: StateSkipped},
		)
		return false
	}
	var v versionJSON
	_ = json.Unmarshal([]byte(firstJSON(version.stdout)), &v)
	if v.Client != nil {
		r.Docker.ClientVersion = v.Client.Version
	}
	found := "docker " + cmpOr(r.Docker.ClientVersion, "(version unknown)")
	r.Checks = append(r.Checks, Check{ID: CheckDocker, Title: "Docker", State: StateOK, Found: found})
	var in infoJSON
	if info.err == nil {
		_ = json.Unmarshal([]byte(firstJSON(info.stdout)), &in)
	}
	if v.Server == nil || version.err != nil || info.err != nil {
		fix := engineStoppedSentence(goos)
		if f := dockerFault(version, goos); f != nil {
			fix = f.Error()
		} else if f := dockerFault(info, goos); f != nil {
			fix = f.Error()
		}
		r.Checks = append(r.Checks, Check{ID: CheckEngine, Title: "Docker engine", State: StateMissing, Found: "not running", Fix: fix})
		return true
	}
	d := &r.Docker
	d.Running = true
	d.ServerVersion = v.Server.Version
	d.Platform = v.Server.Platform.Name
	d.Desktop = strings.Contains(d.Platform, "Docker Desktop") || in.OperatingSystem == "Docker Desktop"
	d.OSType = cmpOr(in.OSType, v.Server.Os)
	d.KernelVersion = cmpOr(in.KernelVersion, v.Server.KernelVersion)
	d.WSL2 = strings.Contains(strings.ToLower(d.KernelVersion), "wsl2")
	d.RootDir = in.DockerRootDir
	for name := range in.Runtimes {
		d.Runtimes = append(d.Runtimes, name)
	}
	slices.Sort(d.Runtimes)
	for _, dev := range in.DiscoveredDevices {
		if strings.HasPrefix(dev.ID, "nvidia.com/gpu") {
			d.GPUDevices = append(d.GPUDevices, dev.ID)
		}
	}
	kind := "Docker Engine " + d.ServerVersion
	if d.Desktop {
		kind = cmpOr(d.Platform, "Docker Desktop") + ", engine " + d.ServerVersion
	}
	c := Check{ID: CheckEngine, Title: "Docker engine", State: StateOK, Found: kind + " (" + d.OSType + " containers)"}
	if d.OSType == "windows" {
		c.State, c.Fix = StateMissing, "Docker Desktop runs Windows containers: switch it to Linux containers (the Docker Desktop menu → Switch to Linux containers)"
	}
	r.Checks = append(r.Checks, c)
	return true
}

func (m *Manager) detectCompose(r *Report, compose result, dockerOK bool) bool {
	if !dockerOK {
		r.Checks = append(r.Checks, Check{ID: CheckCompose, Title: "Docker Compose", State: StateSkipped})
		return false
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(compose.stdout)), "v")
	if compose.err != nil || v == "" || !composeAtLeast(v, 2, 0) {
		r.Checks = append(r.Checks, Check{ID: CheckCompose, Title: "Docker Compose", State: StateMissing, Found: "not found", Fix: composeMissingSentence(m.cfg.GOOS)})
		return false
	}
	r.Docker.ComposeVersion = v
	c := Check{ID: CheckCompose, Title: "Docker Compose", State: StateOK, Found: "Compose " + v}
	if !composeAtLeast(v, 2, 24) {
		c.State, c.Fix = StateWarning, "Compose "+v+" starts the GPU server, but the CPU profile needs 2.24 or newer: update Docker"
	}
	r.Checks = append(r.Checks, c)
	return true
}

func (m *Manager) detectGPU(r *Report, smi result) (gpuOK, driverOK bool) {
	goos := m.cfg.GOOS
	if smi.err == nil {
		for _, line := range strings.Split(string(smi.stdout), "\n") {
			f := strings.Split(line, ",")
			if len(f) < 3 {
				continue
			}
			g := GPU{Name: strings.TrimSpace(f[0]), Driver: strings.TrimSpace(f[1])}
			mem := strings.Fields(strings.TrimSpace(f[2]))
			if len(mem) > 0 {
				g.MemoryMiB, _ = strconv.Atoi(mem[0])
			}
			r.GPUs = append(r.GPUs, g)
		}
	}
	if len(r.GPUs) == 0 {
		fix := "No NVIDIA GPU was found; a machine with one (8 GB or more) and the NVIDIA driver " + cmpOr(r.MinDriver, "580") + " or newer runs the server fast, or use the much slower CPU profile"
		found := "none"
		if !notFound(smi) && smi.exit > 0 {
			found = "nvidia-smi failed: " + smi.tail()
			fix = "nvidia-smi cannot talk to the NVIDIA driver: install or reinstall the NVIDIA driver " + cmpOr(r.MinDriver, "580") + " or newer (nvidia.com/drivers) and restart the computer"
		}
		r.Checks = append(r.Checks,
			Check{ID: CheckGPU, Title: "NVIDIA GPU", State: StateMissing, Found: found, Fix: fix},
			Check{ID: CheckDriver, Title: "NVIDIA driver", State: StateSkipped},
		)
		return false, false
	}
	var names []string
	for _, g := range r.GPUs {
		names = append(names, fmt.Sprintf("%s (%d GB)", g.Name, (g.MemoryMiB+512)/1024))
	}
	gpu := Check{ID: CheckGPU, Title: "NVIDIA GPU", State: StateOK, Found: strings.Join(names, ", ")}
	if r.GPUs[0].MemoryMiB > 0 && r.GPUs[0].MemoryMiB < 7500 {
		gpu.State, gpu.Fix = StateWarning, "The GPU has less than 8 GB of memory: one Parakeet model may fit, Canary probably not"
	}
	r.Checks = append(r.Checks, gpu)
	drv := r.GPUs[0].Driver
	c := Check{ID: CheckDriver, Title: "NVIDIA driver", State: StateOK, Found: drv}
	if r.MinDriver != "" && !versionAtLeast(drv, r.MinDriver) {
		c.State = StateMissing
		where := "nvidia.com/drivers"
		if goos == "linux" {
			where = "your distribution's NVIDIA driver packages or nvidia.com/drivers"
		}
		c.Fix = fmt.Sprintf("Driver %s is too old for the server's Triton image (%s, CUDA %s): install the NVIDIA driver %s or newer from %s", drv, r.TritonImage, r.CUDA, r.MinDriver, where)
		r.Checks = append(r.Checks, c)
		return true, false
	}
	r.Checks = append(r.Checks, c)
	return true, true
}

func (m *Manager) detectGPUInDocker(r *Report, gpuOK bool) bool {
	d := r.Docker
	if !d.Running || !gpuOK {
		r.Checks = append(r.Checks, Check{ID: CheckGPUInDocker, Title: "GPU in Docker", State: StateSkipped})
		return false
	}
	c := Check{ID: CheckGPUInDocker, Title: "GPU in Docker", State: StateOK}
	switch {
	case m.cfg.GOOS == "windows" || (d.Desktop && d.WSL2):
		if d.Desktop && d.WSL2 {
			c.Found = "Docker Desktop with the WSL 2 engine"
		} else {
			c.State, c.Found = StateMissing, "Docker Desktop without the WSL 2 engine"
			c.Fix = gpuInDockerSentence("windows")
		}
	case d.Desktop:
		c.State, c.Found = StateMissing, "Docker Desktop for "+m.cfg.GOOS
		c.Fix = "Docker Desktop on " + m.cfg.GOOS + " cannot pass an NVIDIA GPU to containers: use Docker Engine with the NVIDIA Container Toolkit, or the CPU profile"
	default:
		var how []string
		for _, rt := range d.Runtimes {
			if rt == "nvidia" {
				how = append(how, "nvidia runtime")
			}
		}
		if len(d.GPUDevices) > 0 {
			how = append(how, "CDI devices "+strings.Join(d.GPUDevices, ", "))
		}
		if len(how) == 0 {
			if p, err := exec.LookPath("nvidia-container-runtime-hook"); err == nil {
				how = append(how, "NVIDIA Container Toolkit ("+p+")")
			}
		}
		if len(how) == 0 {
			c.State, c.Found, c.Fix = StateMissing, "no NVIDIA Container Toolkit", gpuInDockerSentence("linux")
		} else {
			c.Found = strings.Join(how, ", ")
		}
	}
	r.Checks = append(r.Checks, c)
	return c.State == StateOK
}

func (m *Manager) detectDisk(r *Report) {
	path := ""
	switch {
	case r.Docker.Desktop && m.cfg.GOOS == "windows":
		// Docker Desktop's WSL 2 disk (images and volumes) grows here by default.
		path = filepath.Join(os.Getenv("LOCALAPPDATA"), "Docker", "wsl")
	case r.Docker.Desktop:
		path, _ = os.UserHomeDir()
	case r.Docker.RootDir != "":
		path = r.Docker.RootDir
	default:
		path = m.cfg.Dir
	}
	free, at, err := freeSpace(path)
	c := Check{ID: CheckDisk, Title: "Free disk", State: StateOK}
	if err != nil {
		c.State, c.Found = StateSkipped, "unknown ("+err.Error()+")"
		r.Checks = append(r.Checks, c)
		return
	}
	r.DiskPath, r.FreeBytes = at, free
	c.Found = fmt.Sprintf("%.0f GB free on %s", float64(free)/(1<<30), at)
	if free < r.NeedBytes {
		c.State = StateWarning
		c.Fix = fmt.Sprintf("The first start needs about %d GB (the server image and the model checkpoints): free some space on %s", needDiskGB, at)
	}
	r.Checks = append(r.Checks, c)
}

// freeSpace is the space free on the disk that holds path, or its
// nearest existing parent.
func freeSpace(path string) (int64, string, error) {
	if path == "" {
		return 0, "", fmt.Errorf("no folder to check")
	}
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			n, err := diskFree(p)
			return n, p, err
		}
		if filepath.Dir(p) == p {
			return 0, "", fmt.Errorf("%s does not exist", path)
		}
	}
}

// firstJSON is the first line of out that looks like a JSON object.
func firstJSON(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}

var reVersionNum = regexp.MustCompile(`\d+`)

// versionAtLeast compares dotted versions numerically ("581.57" >= "580.95.05").
func versionAtLeast(have, want string) bool {
	h, w := reVersionNum.FindAllString(have, -1), reVersionNum.FindAllString(want, -1)
	for i := 0; i < max(len(h), len(w)); i++ {
		var a, b int
		if i < len(h) {
			a, _ = strconv.Atoi(h[i])
		}
		if i < len(w) {
			b, _ = strconv.Atoi(w[i])
		}
		if a != b {
			return a > b
		}
	}
	return len(h) > 0
}

func composeAtLeast(v string, major, minor int) bool {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	return v != "" && versionAtLeast(v, fmt.Sprintf("%d.%d", major, minor))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
