package localserver

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// Codes of the local server's errors (apperr.Error.Code), for the UI to
// pick an icon or a next step; the message is the sentence to show.
const (
	CodeDockerMissing    apperr.Code = "docker_missing"     // no docker program
	CodeDockerNotRunning apperr.Code = "docker_not_running" // the engine does not answer
	CodeDockerPermission apperr.Code = "docker_permission"  // the user may not use the engine
	CodeComposeMissing   apperr.Code = "compose_missing"    // no Compose v2 plugin
	CodePortInUse        apperr.Code = "port_in_use"
	CodeOffline          apperr.Code = "offline"   // a download failed: no network or registry
	CodeDiskFull         apperr.Code = "disk_full" // no space left for the image or the cache
	CodeGPUUnavailable   apperr.Code = "gpu_unavailable"
	CodeCompose          apperr.Code = "compose_failed"    // any other docker compose failure
	CodeModelLoad        apperr.Code = "model_load_failed" // Triton could not load a model
	CodeServerStopped    apperr.Code = "server_stopped"    // the container stopped or exited
	CodeTimeout          apperr.Code = "timeout"
	CodeNotSetUp         apperr.Code = "not_set_up" // nothing was started yet
)

var (
	rePort = regexp.MustCompile(`(?:Bind for |listen tcp4? |exposing port TCP )?(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]*\]|0\.0\.0\.0):(\d+)`)
)

// dockerFault turns a failed docker command into one sentence, or nil
// when its output names no trouble this package knows (then the caller
// says what it was doing).
func dockerFault(r result, goos string) error {
	if notFound(r) {
		return apperr.New(CodeDockerMissing, r.err, "%s", dockerMissingSentence(goos))
	}
	if errors.Is(r.err, errTimeout) {
		return apperr.New(CodeTimeout, r.err, "Docker did not answer in time: it may still be starting; try again in a minute")
	}
	text := r.text()
	low := strings.ToLower(text)
	switch {
	case strings.Contains(low, "permission denied") && strings.Contains(low, "docker"):
		if goos == "windows" {
			return apperr.New(CodeDockerPermission, r.err, "Docker refused this user: add your account to the docker-users group and sign in again")
		}
		return apperr.New(CodeDockerPermission, r.err, "Docker refused this user: add your account to the docker group (sudo usermod -aG docker $USER) and log in again")
	case strings.Contains(low, "cannot connect to the docker daemon"),
		strings.Contains(low, "error during connect"),
		strings.Contains(low, "is the docker daemon running"),
		strings.Contains(low, "docker desktop is not running"),
		strings.Contains(low, "dockerdesktoplinuxengine"),
		strings.Contains(low, "docker_engine: the system cannot find the file"):
		return apperr.New(CodeDockerNotRunning, r.err, "%s", engineStoppedSentence(goos))
	case strings.Contains(low, "is not a docker command") && strings.Contains(low, "compose"),
		strings.Contains(low, "unknown command") && strings.Contains(low, "compose"):
		return apperr.New(CodeComposeMissing, r.err, "%s", composeMissingSentence(goos))
	case strings.Contains(low, "port is already allocated"),
		strings.Contains(low, "address already in use"),
		strings.Contains(low, "ports are not available"),
		strings.Contains(low, "only one usage of each socket address"),
		strings.Contains(low, "an attempt was made to access a socket in a way forbidden"):
		host, port := "127.0.0.1", "?"
		if m := rePort.FindStringSubmatch(text); m != nil {
			host, port = m[1], m[2]
		}
		return portInUse(host, port, r.err)
	case strings.Contains(low, "no space left on device"):
		return apperr.New(CodeDiskFull, r.err, "the disk Docker keeps its images and volumes on is full: free some space (the server needs about %d GB) and start again", needDiskGB)
	case strings.Contains(low, "could not select device driver") && strings.Contains(low, "nvidia"),
		strings.Contains(low, "nvidia-container-cli"),
		strings.Contains(low, "unknown or invalid runtime name: nvidia"):
		return apperr.New(CodeGPUUnavailable, r.err, "%s", gpuInDockerSentence(goos))
	case isOffline(low):
		return apperr.New(CodeOffline, r.err, "a download failed: this computer seems to be offline or cannot reach the image registry (%s); connect to the internet and start again — the first start downloads about 10 GB", offlineHost(text))
	}
	return nil
}

func isOffline(low string) bool {
	for _, s := range []string{"no such host", "dial tcp", "i/o timeout", "tls handshake timeout", "network is unreachable", "temporary failure in name resolution", "connection refused", "failed to resolve source metadata", "failed to do request", "could not resolve host", "connection reset by peer", "max retries exceeded", "failed to establish a new connection"} {
		if strings.Contains(low, s) {
			return true
		}
	}
	return false
}

var reHost = regexp.MustCompile(`(?i)(?:lookup |https?://)([a-z0-9.-]+\.[a-z]{2,})`)

func offlineHost(text string) string {
	if m := reHost.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return "the registry"
}

// composeFailure is the sentence for a compose command that failed: a
// known fault, else what was being done and docker's last line.
func composeFailure(doing string, r result, goos string) error {
	if err := dockerFault(r, goos); err != nil {
		return err
	}
	if r.err != nil && r.exit < 0 {
		return apperr.New(CodeCompose, r.err, "%s failed: %v", doing, r.err)
	}
	return apperr.New(CodeCompose, fmt.Errorf("exit status %d: %s", r.exit, r.tail()), "%s failed: %s", doing, cleanDockerLine(r.tail()))
}

// cleanDockerLine drops docker's log decoration from a line.
func cleanDockerLine(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"Error response from daemon: ", "Error: ", "ERROR: ", "error: "} {
		s = strings.TrimPrefix(s, p)
	}
	if s == "" {
		return "docker gave no reason"
	}
	return s
}

func dockerMissingSentence(goos string) string {
	if goos == "windows" {
		return "Docker is not installed: install Docker Desktop (docs.docker.com/desktop/setup/install/windows-install) with the WSL 2 backend, start it, and check again"
	}
	if goos == "darwin" {
		return "Docker is not installed: install Docker Desktop; note that the local server needs an NVIDIA GPU, which Macs do not have, or the much slower CPU profile"
	}
	return "Docker is not installed: install Docker Engine with the Compose plugin (docs.docker.com/engine/install) and check again"
}

func engineStoppedSentence(goos string) string {
	if goos == "windows" || goos == "darwin" {
		return "Docker is installed but not running: start Docker Desktop, wait until it says the engine is running, and try again"
	}
	return "Docker is installed but its engine is not running: start it (sudo systemctl start docker) and try again"
}

func composeMissingSentence(goos string) string {
	if goos == "windows" || goos == "darwin" {
		return "Docker Compose v2 is missing: update Docker Desktop, which includes it"
	}
	return "Docker Compose v2 is missing: install the docker-compose-plugin package (docs.docker.com/compose/install/linux)"
}

func gpuInDockerSentence(goos string) string {
	if goos == "windows" {
		return "Docker cannot use the NVIDIA GPU: in Docker Desktop use the WSL 2 based engine (Settings → General), keep the NVIDIA driver for Windows up to date, and restart Docker Desktop; or use the CPU profile"
	}
	return "Docker cannot use the NVIDIA GPU: install the NVIDIA Container Toolkit and register it with Docker (sudo nvidia-ctk runtime configure --runtime=docker, then restart Docker); or use the CPU profile"
}
