package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// display shows the queue's progress while the CLI runs. println writes a
// line that stays (a result or a failure) without tearing what the display
// draws.
type display interface {
	update(j transcribe.Job)
	println(w io.Writer, line string)
	close()
}

// newDisplay picks the display for --progress: bars redrawn in place on a
// terminal, plain lines, or nothing. "auto" draws bars when stderr is a
// terminal and stays silent otherwise, so that scripts reading stderr see
// exactly one line per failed file.
func newDisplay(mode string, stdout, stderr io.Writer) (display, bool) {
	switch mode {
	case "auto":
		if fd, ok := terminalFD(stderr); ok {
			return newBars(stderr, fd), true
		}
		return quiet{}, true
	case "bars":
		fd, _ := terminalFD(stderr)
		return newBars(stderr, fd), true
	case "plain":
		return &plain{w: stderr, last: map[transcribe.JobID]plainState{}, now: time.Now}, true
	case "none":
		return quiet{}, true
	}
	return nil, false
}

// terminalFD returns w's file descriptor when w is a terminal.
func terminalFD(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return -1, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// quiet shows nothing but the lines that stay.
type quiet struct{}

func (quiet) update(transcribe.Job)            {}
func (quiet) println(w io.Writer, line string) { fmt.Fprintln(w, line) }
func (quiet) close()                           {}

// plain writes a line when a file changes stage and at every tenth of its
// progress: readable in a log.
type plain struct {
	mu   sync.Mutex
	w    io.Writer
	last map[transcribe.JobID]plainState
	now  func() time.Time
}

type plainState struct {
	stage  transcribe.Stage
	tenths int
}

func (p *plain) update(j transcribe.Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if j.State.Finished() {
		return // the result or failure line says it
	}
	tenths := int(j.Progress.Fraction * 10)
	st := plainState{j.State, tenths}
	if old, ok := p.last[j.ID]; ok && old.stage == st.stage && old.tenths == st.tenths && j.Progress.Note == "" {
		return
	}
	p.last[j.ID] = st
	fmt.Fprintf(p.w, "%s %s: %s\n", p.now().Format("15:04:05"), j.Request.Path, describe(j, true))
}

func (p *plain) println(w io.Writer, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(w, line)
}

func (p *plain) close() {}

// describe is one job's state in words: stage, percentage, chunks, speed
// and time left.
func describe(j transcribe.Job, withPercent bool) string {
	pr := j.Progress
	var parts []string
	if withPercent {
		parts = append(parts, fmt.Sprintf("%3.0f%%", 100*pr.Fraction))
	}
	parts = append(parts, string(j.State))
	if pr.ChunksTotal > 0 && j.State == transcribe.StageTranscribing {
		parts = append(parts, fmt.Sprintf("%d/%d chunks", pr.ChunksDone, pr.ChunksTotal))
		if pr.ChunksReused > 0 {
			parts = append(parts, fmt.Sprintf("(%d reused)", pr.ChunksReused))
		}
	}
	if pr.RealtimeFactor > 0 && j.State == transcribe.StageTranscribing {
		parts = append(parts, fmt.Sprintf("%.1fx", pr.RealtimeFactor))
	}
	if pr.ETASeconds > 0 && j.State == transcribe.StageTranscribing {
		parts = append(parts, "ETA "+shortDuration(pr.ETASeconds))
	}
	if pr.Note != "" {
		parts = append(parts, "- "+pr.Note)
	}
	return strings.Join(parts, " ")
}

func shortDuration(sec float64) string {
	s := int(math.Ceil(sec))
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// bars draws one bar per file being worked on and one for the whole run,
// redrawn in place at most ten times a second.
type bars struct {
	mu      sync.Mutex
	w       io.Writer
	fd      int
	jobs    map[transcribe.JobID]transcribe.Job
	order   []transcribe.JobID
	drawn   int // lines on screen
	dirty   bool
	stop    chan struct{}
	stopped chan struct{}
	started time.Time
}

func newBars(w io.Writer, fd int) *bars {
	b := &bars{w: w, fd: fd, jobs: map[transcribe.JobID]transcribe.Job{}, stop: make(chan struct{}), stopped: make(chan struct{}), started: time.Now()}
	go b.loop()
	return b
}

func (b *bars) loop() {
	defer close(b.stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		if b.dirty {
			b.redraw()
		}
		b.mu.Unlock()
	}
}

func (b *bars) update(j transcribe.Job) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.jobs[j.ID]; !ok {
		b.order = append(b.order, j.ID)
	}
	b.jobs[j.ID] = j
	b.dirty = true
}

func (b *bars) println(w io.Writer, line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.erase()
	fmt.Fprintln(w, line)
	b.redraw()
}

func (b *bars) close() {
	close(b.stop)
	<-b.stopped
	b.mu.Lock()
	defer b.mu.Unlock()
	b.erase()
}

// erase removes the lines drawn; the caller holds b.mu.
func (b *bars) erase() {
	if b.drawn > 0 {
		fmt.Fprintf(b.w, "\x1b[%dA\r\x1b[J", b.drawn)
		b.drawn = 0
	}
}

// redraw draws the bars again; the caller holds b.mu.
func (b *bars) redraw() {
	width, height := 80, 24
	if w, h, err := term.GetSize(b.fd); err == nil && w > 0 {
		width, height = w, h
	}
	var lines []string
	var done, failed, total int
	var active []transcribe.Job
	frac := overallFraction(b.order, b.jobs)
	for _, id := range b.order {
		j := b.jobs[id]
		total++
		switch {
		case j.State == transcribe.StageDone:
			done++
		case j.State.Finished():
			failed++
		case j.State != transcribe.StageQueued:
			active = append(active, j)
		}
	}
	if room := max(height-2, 1); len(active) > room {
		active = active[:room]
	}
	nameWidth := 10
	for _, j := range active {
		nameWidth = max(nameWidth, min(utf8.RuneCountInString(filepath.Base(j.Request.Path)), 28))
	}
	for _, j := range active {
		lines = append(lines, barLine(fit(filepath.Base(j.Request.Path), nameWidth), j.Progress.Fraction, describe(j, false), width))
	}
	if total > 0 {
		summary := fmt.Sprintf("%d/%d files done", done, total)
		if failed > 0 {
			summary += fmt.Sprintf(", %d failed", failed)
		}
		if eta := overallETA(frac, time.Since(b.started)); eta > 0 {
			summary += ", ETA " + shortDuration(eta)
		}
		lines = append(lines, barLine(fit("overall", nameWidth), frac, summary, width))
	}
	b.erase()
	for _, l := range lines {
		fmt.Fprintf(b.w, "%s\x1b[K\n", l)
	}
	b.drawn = len(lines)
	b.dirty = false
}

// overallFraction is the run's progress: each file's fraction weighted by
// its length (a file not yet measured counts as long as the mean of those
// that are), so one long recording is not outweighed by short ones.
func overallFraction(order []transcribe.JobID, jobs map[transcribe.JobID]transcribe.Job) float64 {
	var known, sum float64
	n := 0
	for _, id := range order {
		if s := jobs[id].Progress.AudioSeconds; s > 0 {
			known += s
			n++
		}
	}
	mean := 1.0
	if n > 0 {
		mean = known / float64(n)
	}
	var total float64
	for _, id := range order {
		j := jobs[id]
		w := j.Progress.AudioSeconds
		if w <= 0 {
			w = mean
		}
		f := j.Progress.Fraction
		if j.State.Finished() {
			f = 1
		}
		sum += w * f
		total += w
	}
	if total == 0 {
		return 0
	}
	return sum / total
}

// overallETA extrapolates the run's time left from its progress so far.
func overallETA(frac float64, elapsed time.Duration) float64 {
	if frac <= 0.01 || frac >= 1 {
		return 0
	}
	return elapsed.Seconds() * (1 - frac) / frac
}

// barLine is "name [#####.....]  42% text", cut to the terminal's width.
func barLine(name string, frac float64, text string, width int) string {
	const barWidth = 24
	filled := min(max(int(frac*barWidth), 0), barWidth)
	line := fmt.Sprintf("%s [%s%s] %3.0f%% %s", name, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), 100*frac, text)
	return fit(line, width-1)
}

// fit pads or cuts s to n runes.
func fit(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		if n <= 1 {
			return string(r[:max(n, 0)])
		}
		return string(r[:n-1]) + "…"
	}
	return s + strings.Repeat(" ", n-len(r))
}

// reporter prints each file's outcome, in the order the files were given,
// as soon as it and every file before it have ended: results on stdout,
// one line per failure on stderr.
type reporter struct {
	disp           display
	stdout, stderr io.Writer

	mu      sync.Mutex
	order   []transcribe.JobID
	paths   map[transcribe.JobID]string
	ended   map[transcribe.JobID]transcribe.Job
	printed int
	failed  int
}

func newReporter(disp display, stdout, stderr io.Writer) *reporter {
	return &reporter{disp: disp, stdout: stdout, stderr: stderr,
		paths: map[transcribe.JobID]string{}, ended: map[transcribe.JobID]transcribe.Job{}}
}

// expect registers a file, as the user typed it, under its job id.
func (r *reporter) expect(id transcribe.JobID, path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order = append(r.order, id)
	r.paths[id] = path
	r.flush()
}

// event takes the queue's events.
func (r *reporter) event(ev transcribe.Event) {
	r.disp.update(ev.Job)
	if ev.Kind == transcribe.EventRemoved || !ev.Job.State.Finished() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended[ev.Job.ID] = ev.Job
	r.flush()
}

// finish prints what the events have not: the queue is closed, so every
// job has ended.
func (r *reporter) finish(jobs []transcribe.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range jobs {
		if _, ok := r.ended[j.ID]; !ok {
			if !j.State.Finished() {
				j.State, j.Error = transcribe.StageFailed, "did not finish"
			}
			r.ended[j.ID] = j
		}
	}
	r.flush()
}

// flush prints the outcomes now in order; the caller holds r.mu.
func (r *reporter) flush() {
	for r.printed < len(r.order) {
		id := r.order[r.printed]
		j, ok := r.ended[id]
		if !ok {
			return
		}
		path := r.paths[id]
		if j.State == transcribe.StageDone {
			line := fmt.Sprintf("%s -> %s", path, strings.Join(j.Outputs, ", "))
			if len(j.Warnings) > 0 { // on the result's line: stderr is for failures only
				line += " (warning: " + oneLine(strings.Join(j.Warnings, "; ")) + ")"
			}
			r.disp.println(r.stdout, line)
		} else {
			r.failed++
			r.disp.println(r.stderr, fmt.Sprintf("nemo-transcribe: %s: %s", path, jobReason(j)))
		}
		r.printed++
	}
}
