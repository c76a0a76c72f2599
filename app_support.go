package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gen2brain/beeep"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// Notifier shows a desktop notification; beeep's in the app, a fake in
// tests.
type Notifier interface {
	Notify(title, message string) error
}

type beeepNotifier struct{}

func (beeepNotifier) Notify(title, message string) error {
	beeep.AppName = "NeMo Transcribe"
	return beeep.Notify(title, message, "")
}

// notifyWatch turns queue events into the two notifications a person
// wants from a window they are not looking at: a file failed, and the
// queue is through.
type notifyWatch struct {
	mu      sync.Mutex
	states  map[transcribe.JobID]transcribe.Stage
	busy    bool
	done    int
	enabled func() bool
	n       Notifier
}

func newNotifyWatch(n Notifier, enabled func() bool) *notifyWatch {
	return &notifyWatch{states: map[transcribe.JobID]transcribe.Stage{}, enabled: enabled, n: n}
}

func (w *notifyWatch) event(ev transcribe.Event) {
	w.mu.Lock()
	var title, msg string
	prev := w.states[ev.Job.ID]
	if ev.Kind == transcribe.EventRemoved {
		delete(w.states, ev.Job.ID)
	} else {
		w.states[ev.Job.ID] = ev.Job.State
	}
	name := filepath.Base(ev.Job.Request.Path)
	switch {
	case ev.Kind == transcribe.EventRemoved:
	case ev.Job.State == transcribe.StageFailed && prev != transcribe.StageFailed:
		title, msg = "Transcription failed", name+": "+sentence(ev.Job.Error)
	case ev.Job.State == transcribe.StageDone && prev != transcribe.StageDone:
		w.done++
	}
	active := false
	for _, s := range w.states {
		if !s.Finished() {
			active = true
		}
	}
	if active {
		w.busy = true
	} else if w.busy {
		w.busy = false
		if title == "" && w.done > 0 {
			title = "Transcription finished"
			msg = fmt.Sprintf("%d %s transcribed.", w.done, plural(w.done, "file", "files"))
		}
		w.done = 0
	}
	w.mu.Unlock()
	if title != "" && w.enabled() {
		if err := w.n.Notify(title, msg); err != nil {
			log.Printf("notification: %v", err)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// openLog sends the standard logger to a rotating file in dir:
// nemo-transcribe.log, at most 5 MB, three old ones kept.
func openLog(dir string) io.Closer {
	l := &lumberjack.Logger{Filename: filepath.Join(dir, "logs", "nemo-transcribe.log"), MaxSize: 5, MaxBackups: 3, MaxAge: 30}
	log.SetOutput(io.MultiWriter(os.Stderr, l))
	return l
}

// ExportDiagnostics writes a zip for a bug report into dir: the logs,
// versions and the settings (which hold no secrets). It returns the
// zip's path.
func (a *App) ExportDiagnostics(dir string) (string, error) {
	if strings.TrimSpace(dir) == "" {
		return "", fmt.Errorf("choose a folder for the diagnostics")
	}
	name := filepath.Join(dir, "nemo-transcribe-diagnostics-"+time.Now().Format("20060102-150405")+".zip")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("writing the diagnostics: %w", err)
	}
	if err := writeDiagnostics(f, a.logDir, a.settings.Get()); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("writing the diagnostics: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing the diagnostics: %w", err)
	}
	return name, nil
}

func writeDiagnostics(w io.Writer, logDir string, s config.Settings) error {
	z := zip.NewWriter(w)
	info := map[string]any{"goos": goruntime.GOOS, "goarch": goruntime.GOARCH, "go": goruntime.Version(), "time": time.Now().UTC()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		deps := map[string]string{"main": bi.Main.Version}
		for _, d := range bi.Deps {
			deps[d.Path] = d.Version
		}
		info["modules"] = deps
	}
	for name, v := range map[string]any{"versions.json": info, "settings.json": s} {
		b, _ := json.MarshalIndent(v, "", "  ")
		fw, err := z.Create(name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(b); err != nil {
			return err
		}
	}
	if logDir != "" {
		logs, _ := filepath.Glob(filepath.Join(logDir, "*.log*"))
		sort.Strings(logs)
		for _, p := range logs {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			fw, err := z.Create("logs/" + filepath.Base(p))
			if err != nil {
				return err
			}
			if _, err := fw.Write(b); err != nil {
				return err
			}
		}
	}
	return z.Close()
}
