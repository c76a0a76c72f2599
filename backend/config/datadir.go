package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDataDir is where the app keeps what it must not lose (the
// database of finished chunks, transcripts and jobs), following each OS's
// convention:
//
//	Linux and other Unix: $XDG_DATA_HOME/nemo-transcribe, else ~/.local/share/nemo-transcribe
//	macOS:                ~/Library/Application Support/nemo-transcribe
//	Windows:              %AppData%\nemo-transcribe
func DefaultDataDir() (string, error) {
	home, _ := os.UserHomeDir()
	return dataDir(runtime.GOOS, os.Getenv, home)
}

func dataDir(goos string, getenv func(string) string, home string) (string, error) {
	var base string
	switch goos {
	case "windows":
		base = getenv("AppData")
		if base == "" {
			return "", errors.New("finding the user data folder: %AppData% is not set")
		}
	case "darwin", "ios":
		if home == "" {
			return "", errors.New("finding the user data folder: no home folder")
		}
		base = filepath.Join(home, "Library", "Application Support")
	default: // XDG: a relative $XDG_DATA_HOME is invalid and ignored
		if x := getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
			base = x
		} else if home != "" {
			base = filepath.Join(home, ".local", "share")
		} else {
			return "", errors.New("finding the user data folder: neither $XDG_DATA_HOME nor $HOME is set")
		}
	}
	return filepath.Join(base, AppName), nil
}
