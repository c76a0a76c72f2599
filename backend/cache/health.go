package cache

import (
	"fmt"
	"path/filepath"
	"strings"
)

// WarningKind says what a Warning is about, for the UI to pick a next step.
type WarningKind string

const (
	WarnOneDrive     WarningKind = "onedrive"      // the folder is synced by OneDrive
	WarnLowSpace     WarningKind = "low_space"     // the drive is nearly full
	WarnSpaceUnknown WarningKind = "space_unknown" // free space could not be read
)

// Warning is a problem with the cache folder that does not stop it from
// working.
type Warning struct {
	Kind    WarningKind
	Message string // a whole sentence for the user
}

// oneDriveVars are the variables the OneDrive client sets to its synced
// folders: the personal one, the work or school one, and the default.
var oneDriveVars = []string{"OneDriveConsumer", "OneDriveCommercial", "OneDrive"}

// checkFolder looks for what makes dir a poor home for the cache.
func checkFolder(dir string, getenv func(string) string, free func(string) (uint64, error)) []Warning {
	var ws []Warning
	if root, ok := oneDriveRoot(dir, getenv); ok {
		ws = append(ws, Warning{WarnOneDrive, fmt.Sprintf(
			"the cache folder %s is inside OneDrive (%s): OneDrive uploads every copy staged there and holds "+
				"files while it syncs them, which slows transcription and fills your cloud storage; "+
				"choose a cache folder outside OneDrive in Settings", dir, root)})
	}
	n, err := free(dir)
	switch {
	case err != nil:
		ws = append(ws, Warning{WarnSpaceUnknown, fmt.Sprintf(
			"cannot tell how much space is free for the cache folder %s: %v", dir, err)})
	case n < lowSpace:
		ws = append(ws, Warning{WarnLowSpace, fmt.Sprintf(
			"only %s free on the drive of the cache folder %s; long recordings may not fit — free some space "+
				"or choose a cache folder on another drive in Settings", humanBytes(n), dir)})
	}
	return ws
}

// oneDriveRoot returns the OneDrive folder that holds dir, if any. The
// comparison follows the OS's rules for paths (on Windows, filepath.Rel
// ignores case).
func oneDriveRoot(dir string, getenv func(string) string) (string, bool) {
	for _, v := range oneDriveVars {
		root := getenv(v)
		if root == "" || !filepath.IsAbs(root) {
			continue
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			continue // another drive
		}
		if rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
			return root, true
		}
	}
	return "", false
}

// humanBytes prints n in the largest binary unit that keeps it at least 1.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
