package staging

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Op names the step that failed, for code that wants to tell them apart.
const (
	OpOpen   = "open"   // opening or inspecting the source
	OpRead   = "read"   // reading the source
	OpMkdir  = "mkdir"  // creating the cache folder
	OpWrite  = "write"  // creating, writing or flushing the temporary copy
	OpRename = "rename" // moving the finished copy to its final name
)

// Error is a staging failure. Its message names the file and says what went
// wrong in words meant for the user; Err keeps the operating system's error
// for errors.Is and errors.As.
type Error struct {
	Op       string        // one of the Op constants
	Path     string        // the file the step was working on
	Attempts int           // how often the step was tried
	Waited   time.Duration // time spent waiting between attempts
	Err      error
}

var (
	errIsDir      = errors.New("is a folder, not a file")
	errNotRegular = errors.New("is not a regular file")
)

func (e *Error) Error() string {
	// Quoted by hand: %q would double every backslash of a Windows path.
	msg := fmt.Sprintf("%s \"%s\": %s", opWords[e.Op], e.Path, reason(e.Op, e.Err))
	switch {
	case isTransient(e.Err):
		msg += " (" + tried(e.Attempts, e.Waited) + ")"
	case e.Attempts > 1:
		// Busy at first, then something else went wrong.
		msg += " (" + tried(e.Attempts, e.Waited) + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

var opWords = map[string]string{
	OpOpen:   "cannot open",
	OpRead:   "cannot read",
	OpMkdir:  "cannot create the folder",
	OpWrite:  "cannot write",
	OpRename: "cannot save",
}

// reason turns an error into words a user understands, falling back to the
// system's own text for the rare cases without a plainer explanation.
func reason(op string, err error) string {
	switch {
	case errors.Is(err, errIsDir):
		return errIsDir.Error()
	case errors.Is(err, errNotRegular):
		return errNotRegular.Error()
	case errors.Is(err, fs.ErrNotExist) && (op == OpWrite || op == OpRename):
		// What is missing when writing is the folder around the file.
		return "folder not found"
	case errors.Is(err, fs.ErrNotExist):
		return "file not found"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "took too long and was stopped"
	case isTransient(err):
		return heldWords(err)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error() // the path is already in the message
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

func tried(attempts int, waited time.Duration) string {
	if attempts <= 1 {
		return "tried once"
	}
	return fmt.Sprintf("tried %d times over %s", attempts, humanDuration(waited))
}

// humanDuration prints whole milliseconds below a second and tenths of a
// second above.
func humanDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
