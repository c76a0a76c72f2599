package staging

import "strings"

// extendedPath returns the \\?\ form of an absolute Windows path that is too
// long for the classic 260-character limit, and abs itself otherwise.
//
// Package os does this for its own calls; we need it for the CreateFile
// call that opens sources. 248, not 260: Windows wants room for an 8.3 name
// after a folder's path. The \\?\ form skips Windows' path normalisation,
// so separators are made backslashes first; abs must already be clean
// (filepath.Abs does that). The function is plain string work so that its
// rules are tested on every OS.
func extendedPath(abs string) string {
	if len(abs) < 248 {
		return abs
	}
	p := strings.ReplaceAll(abs, "/", `\`)
	switch {
	case strings.HasPrefix(p, `\\?\`), strings.HasPrefix(p, `\??\`), strings.HasPrefix(p, `\\.\`):
		return p // already extended, or a device
	case strings.HasPrefix(p, `\\`):
		return `\\?\UNC\` + p[2:] // \\server\share\… (a network share)
	case len(p) >= 3 && p[1] == ':' && p[2] == '\\':
		return `\\?\` + p
	}
	return abs // relative or drive-relative: leave it to Windows
}
