//go:build !windows

package staging

import "os"

// syncDir flushes dir's entries, so a name given by rename survives a
// power cut too, not only the bytes behind it. Best effort: some file
// systems cannot sync a folder, and the copy itself is already on disk.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
