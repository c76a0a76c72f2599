package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/history"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// ExportResult says what an export wrote and what stopped it.
type ExportResult struct {
	Written []string `json:"written"`
	// Existing are files that are there already with other content:
	// nothing of the jobs they belong to was written. Export again with
	// overwrite once the user agreed to replace them.
	Existing []string `json:"existing"`
	// Failed are jobs that could not be exported, with the reason.
	Failed []Skipped `json:"failed"`
	// Folders are the folders written to, for "Open folder".
	Folders []string `json:"folders"`
}

// Export writes the finished jobs' transcripts (with the user's edits) in
// formats, into outDir or, when it is "", next to each source file. An
// existing file with other content is only replaced with overwrite.
func (a *App) Export(ids []int64, formats []string, outDir string, overwrite bool) (ExportResult, error) {
	res := newExportResult()
	if err := checkExport(ids, formats); err != nil {
		return res, err
	}
	outDir = strings.TrimSpace(outDir)
	jobs := map[int64]transcribe.Job{}
	for _, j := range a.queue.Jobs() {
		jobs[int64(j.ID)] = j
	}
	ctx, cancel := a.timeout(editTimeout * 6)
	defer cancel()
	for _, id := range ids {
		j, ok := jobs[id]
		if !ok || j.State != transcribe.StageDone {
			res.Failed = append(res.Failed, Skipped{Path: j.Request.Path, Reason: "It is not transcribed yet."})
			continue
		}
		r, err := a.JobResult(id)
		if err != nil {
			res.Failed = append(res.Failed, Skipped{Path: j.Request.Path, Reason: sentence(err.Error())})
			continue
		}
		dir := outDir
		if dir == "" {
			dir = filepath.Dir(j.Request.Path)
		}
		name := j.Request.OutName
		if name == "" {
			name = transcribe.Stem(j.Request.Path)
		}
		written, err := transcribe.Export(ctx, r.Transcript, transcribe.ExportOptions{
			OutDir: dir, Name: name, Formats: formats, Overwrite: overwrite, TXTTimestamps: j.Request.TXTTimestamps,
		})
		res.add(j.Request.Path, dir, written, err)
	}
	return res, nil
}

// ExportHistory is Export for past transcripts (ids are history entries),
// so a transcript reopened from the history needs no new job. Next to the
// source means the folder the file was last transcribed from, which must
// still be there. Two entries of the same name written to one folder are
// told apart as "name (2)" (see history.Export).
func (a *App) ExportHistory(ids []int64, formats []string, outDir string, overwrite bool) (ExportResult, error) {
	res := newExportResult()
	if a.history == nil {
		return res, errNoHistory
	}
	if err := checkExport(ids, formats); err != nil {
		return res, err
	}
	ctx, cancel := a.timeout(editTimeout * 6)
	defer cancel()
	for _, o := range history.Export(ctx, a.history, ids, history.Options{OutDir: strings.TrimSpace(outDir), Formats: formats, Overwrite: overwrite}) {
		switch {
		case errors.Is(o.Err, store.ErrNotFound):
			res.Failed = append(res.Failed, Skipped{Path: fmt.Sprintf("History entry %d", o.ID), Reason: "It is no longer in the history."})
		case o.Source == "":
			res.Failed = append(res.Failed, Skipped{Path: fmt.Sprintf("History entry %d", o.ID), Reason: sentence(o.Err.Error())})
		default:
			res.add(o.Source, o.Dir, o.Written, o.Err)
		}
	}
	return res, nil
}

func newExportResult() ExportResult {
	return ExportResult{Written: []string{}, Existing: []string{}, Failed: []Skipped{}, Folders: []string{}}
}

// checkExport refuses an export with nothing to write.
func checkExport(ids []int64, formats []string) error {
	if len(ids) == 0 {
		return errors.New("choose a finished transcript to export")
	}
	if len(formats) == 0 {
		return errors.New("choose at least one format to export")
	}
	for _, f := range formats {
		if !slices.Contains(export.Formats, f) {
			return fmt.Errorf("%q is not a format the app writes (it writes %s)", f, strings.Join(export.Formats, ", "))
		}
	}
	return nil
}

// add notes the outcome of exporting the transcript of the file src into
// dir: the files written, or why none were.
func (res *ExportResult) add(src, dir string, written []string, err error) {
	var exists *transcribe.OutputExistsError
	switch {
	case errors.As(err, &exists):
		res.Existing = append(res.Existing, exists.Paths...)
	case err != nil:
		res.Failed = append(res.Failed, Skipped{Path: src, Reason: sentence(err.Error())})
	default:
		res.Written = append(res.Written, written...)
		if !slices.Contains(res.Folders, dir) {
			res.Folders = append(res.Folders, dir)
		}
	}
}

// OpenFolder shows a folder in the system's file manager.
func (a *App) OpenFolder(dir string) error {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return fmt.Errorf("the folder %s is not there any more", dir)
	}
	a.mu.Lock()
	open := a.openURL
	a.mu.Unlock()
	if open == nil {
		return errors.New("the window is not ready yet")
	}
	abs, _ := filepath.Abs(dir)
	open((&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String())
	return nil
}

// PickFolder shows the native folder dialog; "" means the user cancelled.
func (a *App) PickFolder() (string, error) {
	return a.chooseFolder("Choose a folder for the exported files")
}

// chooseFolder shows the native folder dialog titled title; "" means the
// user cancelled.
func (a *App) chooseFolder(title string) (string, error) {
	a.mu.Lock()
	pick := a.pickDir
	a.mu.Unlock()
	if pick == nil {
		return "", errors.New("the window is not ready yet")
	}
	dir, err := pick(title)
	if err != nil {
		return "", fmt.Errorf("opening the folder dialog: %w", err)
	}
	return dir, nil
}
