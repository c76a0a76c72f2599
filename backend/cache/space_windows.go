//go:build windows

package cache

import "golang.org/x/sys/windows"

// freeSpace is the space the current user can still fill on the volume
// holding dir (quotas included).
func freeSpace(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, err
	}
	return avail, nil
}
