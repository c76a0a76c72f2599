//go:build windows

package staging

import (
	"errors"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// renameError is the error to classify when renaming onto dst failed.
//
// Windows refuses to replace a file that another program holds open (a
// subtitle file in a media player) with ERROR_ACCESS_DENIED, the same
// number as a real permission problem. To tell the two apart by error
// number, we ask for the one right the replacement needs, DELETE, on dst
// with full sharing: if the holder did not allow deleting, that open fails
// with ERROR_SHARING_VIOLATION, which is worth waiting out. Anything else
// keeps the original error.
func renameError(err error, dst string) error {
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return err
	}
	abs, perr := filepath.Abs(dst)
	if perr != nil {
		return err
	}
	p, perr := windows.UTF16PtrFromString(extendedPath(abs))
	if perr != nil {
		return err
	}
	h, perr := windows.CreateFile(p, windows.DELETE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if perr == nil {
		windows.CloseHandle(h)
		return err
	}
	if isTransient(perr) {
		return &fs.PathError{Op: "rename", Path: dst, Err: perr}
	}
	return err
}
