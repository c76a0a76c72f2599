// Package config knows where the app keeps its files and which settings a
// user can change.
package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// AppName names the app's folders in the OS's cache and data locations.
const AppName = "nemo-transcribe"

// DefaultCacheDir is where staged copies of user files go:
// os.UserCacheDir()/nemo-transcribe/staging.
func DefaultCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache folder: %w", err)
	}
	return filepath.Join(base, AppName, "staging"), nil
}
