//go:build windows

package staging

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// openSource opens a user's file for reading with every sharing flag set.
// os.Open leaves out FILE_SHARE_DELETE, which would stop the user (or
// OneDrive, or their media player) from renaming or deleting the file while
// we copy it; we must never be the program that "has the file open".
//
// FILE_FLAG_BACKUP_SEMANTICS lets a folder open too, so Stage can say "is a
// folder" instead of "access denied". Long paths get the \\?\ prefix here,
// as package os does for its own calls.
func openSource(name string) (*os.File, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	p, err := windows.UTF16PtrFromString(extendedPath(abs))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	h, err := windows.CreateFile(p,
		windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil,
		windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_SEQUENTIAL_SCAN,
		0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(h), name), nil
}
