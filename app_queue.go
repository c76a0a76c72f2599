package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// mediaExts are the extensions a dropped folder is searched for and a
// dropped file is accepted with: what the built-in decoders read plus the
// common containers ffmpeg opens.
var mediaExts = []string{
	".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus",
	".m4a", ".aac", ".wma", ".aif", ".aiff", ".caf", ".amr",
	".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".wmv", ".mpg", ".mpeg", ".ts",
}

func mediaPattern() string {
	var p []string
	for _, e := range mediaExts {
		p = append(p, "*"+e, "*"+strings.ToUpper(e))
	}
	return strings.Join(p, ";")
}

func isMedia(path string) bool {
	return slices.Contains(mediaExts, strings.ToLower(filepath.Ext(path)))
}

// Skipped is a path that was not queued, with the reason in a sentence;
// Text is the reason with its catalog key, for the UI's language.
type Skipped struct {
	Path   string       `json:"path"`
	Reason string       `json:"reason"`
	Text   *apperr.Text `json:"text,omitempty"`
}

// skip is a Skipped for path, worded by reason.
func skip(path string, reason apperr.Text) Skipped {
	return Skipped{Path: path, Reason: reason.Text, Text: &reason}
}

// AddResult says what became of the paths given to AddFiles.
type AddResult struct {
	Added   []transcribe.JobID `json:"added"`
	Skipped []Skipped          `json:"skipped"`
}

// maxWalked bounds how many files one dropped folder may add, so a drop
// of a home folder does not queue a lifetime of recordings by mistake.
const maxWalked = 2000

// AddFiles queues every audio or video file among paths with the saved
// settings, at once: the native drop handler calls it, and so can the UI
// or a browser-driven end-to-end test, which cannot fake a native drop.
// Folders are walked (hidden entries skipped); anything not taken is in
// Skipped with the reason. Blank paths are ignored.
func (a *App) AddFiles(paths []string) AddResult {
	res := AddResult{Added: []transcribe.JobID{}, Skipped: []Skipped{}}
	var files []string
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			continue
		}
		found, skipped := collect(p)
		files = append(files, found...)
		res.Skipped = append(res.Skipped, skipped...)
	}
	s := a.settings.Get()
	for _, f := range files {
		req := jobRequest(s, f)
		req.Speakers = speakerRequest(s)
		id, err := a.queue.Add(req)
		if err != nil {
			t := apperr.Localize(err)
			t.Text = sentence(t.Text)
			res.Skipped = append(res.Skipped, skip(f, t))
			continue
		}
		res.Added = append(res.Added, id)
	}
	if len(res.Added)+len(res.Skipped) > 0 {
		_, emit := a.runtimeSeams()
		emit(EventFilesAdded, res)
	}
	return res
}

// collect returns the media files at p (p itself, or those under the
// folder p, sorted) and what it passed over.
func collect(p string) (files []string, skipped []Skipped) {
	info, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, []Skipped{skip(p, apperr.Textf("There is no such file or folder."))}
	case err != nil:
		return nil, []Skipped{skip(p, apperr.Textf("It cannot be read: %s", sentence(apperr.PathReason(err))))}
	case !info.IsDir():
		if !isMedia(p) {
			return nil, []Skipped{skip(p, apperr.Textf("%q is not an audio or video file type the app knows.", filepath.Ext(p)))}
		}
		return []string{p}, nil
	}
	var ignored int
	walkErr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			skipped = append(skipped, skip(path, apperr.Textf("It cannot be read: %s", sentence(apperr.PathReason(err)))))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if path != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !isMedia(path) {
			ignored++
			return nil
		}
		if len(files) >= maxWalked {
			return fs.SkipAll
		}
		files = append(files, path)
		return nil
	})
	if walkErr != nil {
		skipped = append(skipped, skip(p, apperr.Textf("It cannot be read: %s", sentence(apperr.PathReason(walkErr)))))
	}
	sort.Strings(files)
	if len(files) == 0 {
		skipped = append(skipped, skip(p, apperr.Textf("This folder holds no audio or video files.")))
	} else if len(files) >= maxWalked {
		skipped = append(skipped, skip(p, apperr.Textf("Only the first %d files of this folder were added.", maxWalked)))
	}
	if ignored > 0 && len(files) > 0 {
		skipped = append(skipped, skip(p, apperr.Textf("%d other files in this folder are not audio or video and were left out.", ignored)))
	}
	return files, skipped
}

// Job ids cross to the UI as plain numbers (int64), since the bindings
// generator has no TypeScript type for transcribe.JobID.

// Jobs lists the queue, oldest first.
func (a *App) Jobs() []transcribe.Job {
	jobs := a.queue.Jobs()
	for i := range jobs {
		jobs[i] = forUI(jobs[i])
	}
	return jobs
}

// forUI words a job's error as the rest of the app's errors are: one
// sentence (the queue keeps the bare reason for the store and the CLI).
func forUI(j transcribe.Job) transcribe.Job {
	if j.Error != "" {
		j.Error = sentence(j.Error)
	}
	return j
}

// CancelJob stops one job; a finished one is left as it is.
func (a *App) CancelJob(id int64) error { return a.queue.Cancel(transcribe.JobID(id)) }

// CancelAll stops every job not finished yet.
func (a *App) CancelAll() { a.queue.CancelAll() }

// RetryJob queues a failed or cancelled job again with its settings.
func (a *App) RetryJob(id int64) error { return a.queue.RetryWith(transcribe.JobID(id), nil) }

// RetryWithOverwrite retries a job that failed because its output files
// exist, once the user agreed to replace them.
func (a *App) RetryWithOverwrite(id int64) error {
	return a.queue.RetryWith(transcribe.JobID(id), func(r *transcribe.Request) { r.Overwrite = true })
}

// RemoveJob takes a job off the list, cancelling it first if need be. Its
// transcript stays in the history.
func (a *App) RemoveJob(id int64) error { return a.queue.Remove(transcribe.JobID(id)) }

// RemoveFinished takes every done job off the list.
func (a *App) RemoveFinished() {
	for _, j := range a.queue.Jobs() {
		if j.State == transcribe.StageDone {
			_ = a.queue.Remove(j.ID) // gone already is fine
		}
	}
}
