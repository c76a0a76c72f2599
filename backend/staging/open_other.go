//go:build !windows

package staging

import "os"

// openSource opens a user's file for reading. Unix has no mandatory
// sharing modes: other programs can always read, write, rename or delete it
// while we hold it open.
func openSource(name string) (*os.File, error) { return os.Open(name) }
