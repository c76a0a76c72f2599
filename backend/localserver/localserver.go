// Package localserver sets up, starts, watches and stops a Triton server
// with NeMo on the user's own machine: the model repository and compose
// files shipped in the binary (package models) are written into the app's
// data folder and run with Docker Compose, on the NVIDIA GPU or, without
// one, on the processor (the CPU profile).
//
// It talks to docker and nvidia-smi only through os/exec, with argument
// lists (never a shell string) and a deadline on every command; whether
// Triton answers it asks through Prober, which the app implements with its
// inference client (package probe does). Nothing here imports Wails or
// gRPC; nothing runs until a method is called, and the app calls them when
// the user presses a button.
package localserver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// ProjectName is the compose project (-p) of the local server: its
// container, network and cache volume are named after it.
const ProjectName = "nemo-transcribe"

// Service is the compose service that runs Triton.
const Service = "triton"

// ImageName is the image compose.yaml builds.
const ImageName = "nemo-transcribe-triton:local"

// Default ports, as in compose.yaml.
const (
	DefaultGRPCPort    = 8001
	DefaultHTTPPort    = 8000
	DefaultMetricsPort = 8002
)

// Profile says where the models run.
type Profile string

const (
	ProfileGPU Profile = "gpu" // NVIDIA GPU(s): compose.yaml
	ProfileCPU Profile = "cpu" // the processor: compose.yaml + compose.cpu.yaml, much slower
)

// Files the app keeps beside the shipped ones in Dir.
const (
	stateFile    = "nemo-transcribe-local.json" // what the user chose at the last Start
	envFile      = "nemo-transcribe-local.env"  // the same as compose variables (--env-file)
	manifestFile = ".nemo-transcribe-files.json"
)

// Config sets up a Manager. Only Dir is required.
type Config struct {
	// Dir is the folder the server files are written to and compose runs
	// in (see DefaultDir).
	Dir string
	// Prober asks Triton whether it and its models are ready; nil leaves
	// Status and Start to the container's state alone (Start then cannot
	// tell "ready" and fails).
	Prober Prober
	// Docker and NvidiaSMI are the programs run ("docker", "nvidia-smi" on
	// PATH when empty).
	Docker, NvidiaSMI string
	// Poll is how often Start asks the server and the container while it
	// waits (1 s when 0).
	Poll time.Duration
	// StartTimeout caps how long Start waits for the server to be ready
	// after the container started (45 minutes when 0: the first start
	// downloads several GB of checkpoints).
	StartTimeout time.Duration
	// BuildTimeout caps building the image (90 minutes when 0: it downloads
	// about 10 GB).
	BuildTimeout time.Duration
	// CommandTimeout caps every short docker command (60 s when 0).
	CommandTimeout time.Duration
	// GOOS is the operating system the advice is for (runtime.GOOS when
	// empty; tests set it).
	GOOS string
}

// DefaultDir is the data folder's local-server folder.
func DefaultDir() (string, error) {
	d, err := config.DefaultDataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "local-server"), nil
}

// Manager runs the local server. Its methods may be called from several
// goroutines; Start, Stop, Restart and Remove run one at a time.
type Manager struct {
	cfg Config
	mu  sync.Mutex // one lifecycle operation at a time

	opMu sync.Mutex
	op   *operation // the Start or Restart in progress, which Stop may interrupt
}

// New returns a Manager for cfg.
func New(cfg Config) *Manager {
	cfg.Docker = cmp.Or(cfg.Docker, "docker")
	cfg.NvidiaSMI = cmp.Or(cfg.NvidiaSMI, "nvidia-smi")
	cfg.Poll = cmp.Or(cfg.Poll, time.Second)
	cfg.StartTimeout = cmp.Or(cfg.StartTimeout, 45*time.Minute)
	cfg.BuildTimeout = cmp.Or(cfg.BuildTimeout, 90*time.Minute)
	cfg.CommandTimeout = cmp.Or(cfg.CommandTimeout, 60*time.Second)
	cfg.GOOS = cmp.Or(cfg.GOOS, runtimeGOOS)
	return &Manager{cfg: cfg}
}

// Dir is the folder the server files live in.
func (m *Manager) Dir() string { return m.cfg.Dir }

// IsLocal reports whether addr (the app's server setting) is the local
// server of the last Start, so that the app can explain an unreachable
// server with Status instead of a network error.
func (m *Manager) IsLocal(addr string) bool {
	st, ok := m.loadState()
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(strings.TrimSpace(addr))
	if err != nil || port != strconv.Itoa(st.Options.GRPCPort) {
		return false
	}
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// LANNote is the sentence to show beside "share on the LAN".
func LANNote(grpcPort int) string {
	if grpcPort == 0 {
		grpcPort = DefaultGRPCPort
	}
	return fmt.Sprintf("Anyone who can reach port %d of this computer can use its GPU and load or unload models: let only your team's machines in through the firewall, and add TLS (models/README.md, \"Serving the LAN\")", grpcPort)
}

// StartOptions are what the user chose on the Local server page.
type StartOptions struct {
	// Models to load: folder names of the repository (see Models).
	Models []string `json:"models"`
	// Profile is ProfileGPU (default) or ProfileCPU.
	Profile Profile `json:"profile"`
	// ShareLAN publishes the gRPC port on every network interface instead
	// of 127.0.0.1 (HTTP and metrics stay local). Show the README's TLS
	// advice beside the switch.
	ShareLAN bool `json:"shareLAN"`
	// Ports published on this machine; 0 = the defaults (8001, 8000, 8002).
	GRPCPort    int `json:"grpcPort"`
	HTTPPort    int `json:"httpPort"`
	MetricsPort int `json:"metricsPort"`
}

func (o StartOptions) withDefaults() StartOptions {
	o.Profile = cmp.Or(o.Profile, ProfileGPU)
	o.GRPCPort = cmp.Or(o.GRPCPort, DefaultGRPCPort)
	o.HTTPPort = cmp.Or(o.HTTPPort, DefaultHTTPPort)
	o.MetricsPort = cmp.Or(o.MetricsPort, DefaultMetricsPort)
	return o
}

// Address is where the app's client reaches the server's gRPC port.
func (o StartOptions) Address() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(o.withDefaults().GRPCPort))
}

func (o StartOptions) bind() string {
	if o.ShareLAN {
		return "0.0.0.0"
	}
	return "127.0.0.1"
}

// composeFiles are the -f arguments of the profile, relative to Dir.
func (o StartOptions) composeFiles() []string {
	if o.Profile == ProfileCPU {
		return []string{"compose.yaml", "compose.cpu.yaml"}
	}
	return []string{"compose.yaml"}
}

func (o StartOptions) repositoryDir() string {
	if o.Profile == ProfileCPU {
		return models.CPURepositoryDir
	}
	return models.RepositoryDir
}

// env is the compose variables for o, as compose.yaml names them.
func (o StartOptions) env() []string {
	o = o.withDefaults()
	return []string{
		"NEMO_MODELS=" + strings.Join(o.Models, ","),
		"TRITON_BIND=" + o.bind(),
		"TRITON_HTTP_BIND=127.0.0.1",
		"TRITON_GRPC_PORT=" + strconv.Itoa(o.GRPCPort),
		"TRITON_HTTP_PORT=" + strconv.Itoa(o.HTTPPort),
		"TRITON_METRICS_PORT=" + strconv.Itoa(o.MetricsPort),
	}
}

// state is what Start saved, so that Stop, Logs and Status run compose
// with the same files and variables.
type state struct {
	Options StartOptions `json:"options"`
	// Built is the files' version the image was last built from.
	Built string `json:"built,omitempty"`
	// Started is true from a successful Start to Stop or Remove: a
	// container that is not running then has stopped under the user.
	Started bool `json:"started"`
}

func (m *Manager) loadState() (state, bool) {
	data, err := os.ReadFile(filepath.Join(m.cfg.Dir, stateFile))
	if err != nil {
		return state{Options: StartOptions{}.withDefaults()}, false
	}
	var s state
	if json.Unmarshal(data, &s) != nil {
		return state{Options: StartOptions{}.withDefaults()}, false
	}
	s.Options = s.Options.withDefaults()
	return s, true
}

func (m *Manager) saveState(ctx context.Context, s state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := staging.WriteFileAtomic(ctx, filepath.Join(m.cfg.Dir, stateFile), append(data, '\n'), 0o644, staging.Options{}); err != nil {
		return fileError(err)
	}
	env := "# Written by NeMo Transcribe for its local server; the app rewrites it at every Start.\n" +
		"# By hand: docker compose --env-file " + envFile + " -f compose.yaml ... (from this folder)\n" +
		strings.Join(s.Options.env(), "\n") + "\n"
	if err := staging.WriteFileAtomic(ctx, filepath.Join(m.cfg.Dir, envFile), []byte(env), 0o644, staging.Options{}); err != nil {
		return fileError(err)
	}
	return nil
}

func fileError(err error) error {
	return apperr.New(apperr.CodeFile, err, "writing the local server's files failed: %s", apperr.Message(err))
}

// ModelInfo is one model the user can tick.
type ModelInfo struct {
	Name string `json:"name"`
	// NemoModel is the checkpoint it loads (config.pbtxt's nemo_model).
	NemoModel string `json:"nemoModel"`
	// Shipped is false for a folder the user added to the data folder's
	// repository (their own checkpoint).
	Shipped bool `json:"shipped"`
}

// Models lists the models the local server can load in profile: the
// shipped ones and any folder the user added to the data folder's
// repository.
func (m *Manager) Models(profile Profile) ([]ModelInfo, error) {
	o := StartOptions{Profile: profile}.withDefaults()
	shipped := map[string]bool{}
	entries, err := fs.ReadDir(models.ServerFiles(), o.repositoryDir())
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		shipped[e.Name()] = true
	}
	names := map[string]bool{}
	for n := range shipped {
		names[n] = true
	}
	if local, err := os.ReadDir(filepath.Join(m.cfg.Dir, o.repositoryDir())); err == nil {
		for _, e := range local {
			if _, err := os.Stat(filepath.Join(m.cfg.Dir, o.repositoryDir(), e.Name(), "config.pbtxt")); err == nil {
				names[e.Name()] = true
			}
		}
	}
	var out []ModelInfo
	for _, n := range slices.Sorted(maps.Keys(names)) {
		info := ModelInfo{Name: n, Shipped: shipped[n]}
		data, err := os.ReadFile(filepath.Join(m.cfg.Dir, o.repositoryDir(), n, "config.pbtxt"))
		if err != nil {
			data, _ = fs.ReadFile(models.ServerFiles(), o.repositoryDir()+"/"+n+"/config.pbtxt")
		}
		info.NemoModel = nemoModelOf(data)
		out = append(out, info)
	}
	return out, nil
}

func nemoModelOf(config []byte) string {
	text := string(config)
	i := strings.Index(text, `key: "nemo_model"`)
	if i < 0 {
		return ""
	}
	rest := text[i:]
	j := strings.Index(rest, `string_value: "`)
	if j < 0 {
		return ""
	}
	rest = rest[j+len(`string_value: "`):]
	if k := strings.IndexByte(rest, '"'); k >= 0 {
		return rest[:k]
	}
	return ""
}

// checkOptions refuses what cannot start, in one sentence.
func (m *Manager) checkOptions(o StartOptions) error {
	if o.Profile != ProfileGPU && o.Profile != ProfileCPU {
		return apperr.New(apperr.CodeBadInput, nil, "unknown server profile %q: choose gpu or cpu", o.Profile)
	}
	if len(o.Models) == 0 {
		return apperr.New(apperr.CodeBadInput, nil, "tick at least one model for the local server to load")
	}
	available, err := m.Models(o.Profile)
	if err != nil {
		return err
	}
	var names []string
	for _, a := range available {
		names = append(names, a.Name)
	}
	for _, name := range o.Models {
		if !slices.Contains(names, name) {
			return apperr.New(apperr.CodeUnknownModel, nil, "there is no model %q for the local server (available: %s)", name, strings.Join(names, ", "))
		}
	}
	ports := []int{o.GRPCPort, o.HTTPPort, o.MetricsPort}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return apperr.New(apperr.CodeBadInput, nil, "port %d is not a port number (1 to 65535)", p)
		}
	}
	if o.GRPCPort == o.HTTPPort || o.GRPCPort == o.MetricsPort || o.HTTPPort == o.MetricsPort {
		return apperr.New(apperr.CodeBadInput, nil, "the server's three ports must differ (gRPC %d, HTTP %d, metrics %d)", o.GRPCPort, o.HTTPPort, o.MetricsPort)
	}
	return nil
}

// portsFree reports the first of o's ports that another program holds.
func portsFree(o StartOptions) error {
	type bind struct {
		host string
		port int
		what string
	}
	for _, b := range []bind{{o.bind(), o.GRPCPort, "gRPC"}, {"127.0.0.1", o.HTTPPort, "HTTP"}, {"127.0.0.1", o.MetricsPort, "metrics"}} {
		l, err := net.Listen("tcp", net.JoinHostPort(b.host, strconv.Itoa(b.port)))
		if err != nil {
			return portInUse(b.host, strconv.Itoa(b.port), err)
		}
		l.Close()
	}
	return nil
}

func portInUse(host, port string, err error) error {
	return apperr.New(CodePortInUse, err, "port %s on %s is already in use by another program: stop that program or choose another port for the local server", port, host)
}

var errNoProber = errors.New("no prober")
