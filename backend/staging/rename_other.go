//go:build !windows

package staging

// renameError is the error to classify when renaming onto dst failed. Unix
// replaces a file that others hold open without complaint, so there is
// nothing to look into.
func renameError(err error, dst string) error { return err }
