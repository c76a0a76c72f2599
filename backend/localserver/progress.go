package localserver

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Phase is a step of the first start, in the order a user meets them.
type Phase string

const (
	PhasePrepare       Phase = "prepare"        // writing the server files, checking Docker and the ports
	PhaseImageDownload Phase = "image_download" // downloading NVIDIA's Triton image
	PhaseImageBuild    Phase = "image_build"    // installing PyTorch and NeMo into the image
	PhaseContainer     Phase = "container"      // creating and starting the container
	PhaseModelDownload Phase = "model_download" // a model's checkpoint into the cache volume
	PhaseLoading       Phase = "loading"        // a model loading and warming up
	PhaseReady         Phase = "ready"          // every ticked model answers
)

// Progress is one step of Start or Restart, in words a user understands.
type Progress struct {
	Phase   Phase  `json:"phase"`
	Message string `json:"message"`         // a whole sentence, e.g. "Downloading NVIDIA's Triton image: 2.1 of 9.8 GB"
	Model   string `json:"model,omitempty"` // for model_download and loading
	// Done and Total count bytes of a download when known (0 when not).
	Done  int64 `json:"done,omitempty"`
	Total int64 `json:"total,omitempty"`
	// Step and Steps number the image's build steps (0 when not known).
	Step  int `json:"step,omitempty"`
	Steps int `json:"steps,omitempty"`
	// Address is set with PhaseReady: where the app's server setting points.
	Address string `json:"address,omitempty"`
}

// throttle passes progress on, at most one download update per model per
// interval (progress bars redraw many times a second); a change of phase,
// model or step always goes through.
type throttle struct {
	mu    sync.Mutex
	emit  func(Progress)
	every time.Duration
	last  Progress
	at    time.Time
}

func newThrottle(emit func(Progress), every time.Duration) *throttle {
	if emit == nil {
		emit = func(Progress) {}
	}
	return &throttle{emit: emit, every: every}
}

func (t *throttle) send(p Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	same := p.Phase == t.last.Phase && p.Model == t.last.Model && p.Step == t.last.Step
	if same && p.Message == t.last.Message {
		return
	}
	if same && p.Total > 0 && t.last.Total > 0 && time.Since(t.at) < t.every && p.Done < p.Total {
		return
	}
	t.last, t.at = p, time.Now()
	t.emit(p)
}

// ---- the image build (BuildKit's plain progress) ----

var (
	reBuildStep  = regexp.MustCompile(`^#(\d+) \[(?:[^\]]*? )?(\d+)/(\d+)\] (.*)$`)
	reBuildBytes = regexp.MustCompile(`^#(\d+) sha256:([0-9a-f]{12,}) ([\d.]+)([kKMG]?i?B) / ([\d.]+)([kKMG]?i?B)`)
	reBuildDone  = regexp.MustCompile(`^#(\d+) (?:DONE|CACHED)`)
	rePipGet     = regexp.MustCompile(`^#\d+ [\d.]+ (?:Downloading|Collecting) (\S+)`)
)

// buildWatcher turns `docker compose --progress plain build` output into
// progress: the base image's download (bytes summed over its layers) and
// the Dockerfile's steps.
type buildWatcher struct {
	out      *throttle
	fromStep string              // BuildKit's vertex number of the FROM step
	layers   map[string][2]int64 // layer -> done, total
	step     int
	steps    int
}

func newBuildWatcher(out *throttle) *buildWatcher {
	return &buildWatcher{out: out, layers: map[string][2]int64{}}
}

func (w *buildWatcher) line(l string) {
	l = strings.TrimSpace(l)
	if m := reBuildStep.FindStringSubmatch(l); m != nil {
		step, _ := strconv.Atoi(m[2])
		steps, _ := strconv.Atoi(m[3])
		what := m[4]
		w.step, w.steps = step, steps
		if strings.HasPrefix(what, "FROM ") {
			w.fromStep = m[1]
			w.out.send(Progress{Phase: PhaseImageDownload, Message: "Downloading NVIDIA's Triton image (about 10 GB the first time)", Step: step, Steps: steps})
			return
		}
		w.out.send(Progress{Phase: PhaseImageBuild, Message: fmt.Sprintf("Building the server image, step %d of %d: %s", step, steps, describeBuildStep(what)), Step: step, Steps: steps})
		return
	}
	if m := reBuildBytes.FindStringSubmatch(l); m != nil && (w.fromStep == "" || m[1] == w.fromStep) {
		w.layers[m[2]] = [2]int64{sizeOf(m[3], m[4]), sizeOf(m[5], m[6])}
		var done, total int64
		for _, v := range w.layers {
			done += v[0]
			total += v[1]
		}
		w.out.send(Progress{Phase: PhaseImageDownload, Message: fmt.Sprintf("Downloading NVIDIA's Triton image: %s of %s", gb(done), gb(total)), Done: done, Total: total, Step: w.step, Steps: w.steps})
		return
	}
	if m := rePipGet.FindStringSubmatch(l); m != nil && w.step > 0 {
		w.out.send(Progress{Phase: PhaseImageBuild, Message: fmt.Sprintf("Building the server image, step %d of %d: downloading %s", w.step, w.steps, pipName(m[1])), Step: w.step, Steps: w.steps})
	}
}

func describeBuildStep(what string) string {
	switch {
	case strings.Contains(what, "apt-get"):
		return "installing system packages"
	case strings.Contains(what, "pip install"):
		return "downloading and installing PyTorch and NeMo (several GB)"
	case strings.HasPrefix(what, "COPY"):
		return "copying the model files"
	case strings.HasPrefix(what, "RUN install"):
		return "finishing the image"
	}
	if len(what) > 60 {
		what = what[:60] + "…"
	}
	return what
}

func pipName(s string) string {
	s = s[strings.LastIndex(s, "/")+1:]
	if i := strings.IndexAny(s, "-=<>["); i > 0 {
		return s[:i]
	}
	return s
}

// ---- the container's log ----

var (
	reServeStart = regexp.MustCompile(`serve\.sh: starting Triton with:(.*)$`)
	reServeNoMod = regexp.MustCompile(`serve\.sh: (no model '[^']+' in .*|NEMO_MODELS names no model.*)$`)
	reTqdm       = regexp.MustCompile(`^\s*(.*?):\s+(\d+)%\|[^|]*\|\s*([\d.]+)([kKMGT]?i?B?)/([\d.]+)([kKMGT]?i?B?)\s*\[`)
	reLoading    = regexp.MustCompile(`loading: ([^:"\s]+):(\d+)`)
	reLoaded     = regexp.MustCompile(`successfully loaded '([^']+)'`)
	reLoadFailed = regexp.MustCompile(`failed to load '([^']+)'(?: version \d+)?: (.*?)"?$`)
	reModelReady = regexp.MustCompile(`^(?:.*\] "?)?(\S+): \S+ ready on (GPU|CPU) \d+`)
	reDriverOld  = regexp.MustCompile(`(?i)(this container was built for nvidia driver.*|cuda driver version is insufficient.*)`)
	reNoDriver   = regexp.MustCompile(`(?i)the nvidia driver was not detected`)
	reGRPCUp     = regexp.MustCompile(`Started GRPCInferenceService at`)
	reFatal      = regexp.MustCompile(`error: creating server: (.*)$`)
)

// logWatcher turns the container's log into progress, and remembers what
// went wrong for the sentence Start returns.
type logWatcher struct {
	mu       sync.Mutex
	out      *throttle
	models   []string
	loading  string            // the model Triton loads last
	failures map[string]string // model -> Triton's reason
	fatal    string            // a sentence: the server cannot start
	noGPU    bool
	seen     map[string]bool // models the log has shown loading
}

func newLogWatcher(out *throttle, models []string) *logWatcher {
	return &logWatcher{out: out, models: models, failures: map[string]string{}, seen: map[string]bool{}}
}

func (w *logWatcher) line(l string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case reServeStart.MatchString(l):
		w.out.send(Progress{Phase: PhaseContainer, Message: "Starting Triton with " + strings.Join(w.models, ", ")})
	case reServeNoMod.MatchString(l):
		w.fatal = "The server's repository has " + reServeNoMod.FindStringSubmatch(l)[1]
	case reTqdm.MatchString(l):
		m := reTqdm.FindStringSubmatch(l)
		done, total := sizeOf(m[3], m[4]), sizeOf(m[5], m[6])
		model := w.modelOf(m[1])
		msg := fmt.Sprintf("Downloading the %s model: %s of %s (once; it is kept in the cache)", cmpOr(model, "speech"), gb(done), gb(total))
		if done == 0 {
			msg = fmt.Sprintf("Downloading the %s model, %s (once; it is kept in the cache)", cmpOr(model, "speech"), gb(total))
		}
		w.seen[model] = true
		w.out.send(Progress{Phase: PhaseModelDownload, Model: model, Done: done, Total: total, Message: msg})
	case reLoading.MatchString(l):
		w.loading = reLoading.FindStringSubmatch(l)[1]
		w.seen[w.loading] = true
		w.out.send(Progress{Phase: PhaseLoading, Model: w.loading, Message: "Loading " + w.loading + " (the first time it downloads its checkpoint, several GB)"})
	case reModelReady.MatchString(l):
		name := reModelReady.FindStringSubmatch(l)[1]
		w.out.send(Progress{Phase: PhaseLoading, Model: name, Message: name + " is loaded and warmed up"})
	case reLoaded.MatchString(l):
		name := reLoaded.FindStringSubmatch(l)[1]
		w.out.send(Progress{Phase: PhaseLoading, Model: name, Message: name + " is loaded"})
	case reLoadFailed.MatchString(l):
		m := reLoadFailed.FindStringSubmatch(l)
		w.failures[m[1]] = strings.TrimSpace(m[2])
	case reDriverOld.MatchString(l):
		w.fatal = "The NVIDIA driver is too old for the server's Triton image: " + strings.TrimSpace(reDriverOld.FindStringSubmatch(l)[1])
	case reNoDriver.MatchString(l):
		w.noGPU = true
	case reGRPCUp.MatchString(l):
		w.out.send(Progress{Phase: PhaseLoading, Message: "Triton is up; waiting for the models"})
	case reFatal.MatchString(l):
		if w.fatal == "" {
			w.fatal = "Triton could not start: " + strings.TrimSpace(reFatal.FindStringSubmatch(l)[1])
		}
	}
}

// modelOf is the ticked model a downloaded file belongs to.
func (w *logWatcher) modelOf(file string) string {
	for _, m := range w.models {
		if strings.Contains(file, m) {
			return m
		}
	}
	return w.loading
}

// shown reports whether the log has shown model loading.
func (w *logWatcher) shown(model string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[model]
}

func (w *logWatcher) failure(model string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.failures[model]
	return r, ok
}

func (w *logWatcher) anyFailure() (string, string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.models {
		if r, ok := w.failures[m]; ok {
			return m, r, true
		}
	}
	return "", "", false
}

func (w *logWatcher) fatalSentence() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal, w.noGPU
}

// sizeOf reads "2.47" "G" / "291" "MB" / "1.2" "GiB" as bytes.
func sizeOf(num, unit string) int64 {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "i")
	mult := map[string]float64{"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[unit]
	if mult == 0 {
		mult = 1
	}
	return int64(f * mult)
}

func gb(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d kB", n/1000)
}
