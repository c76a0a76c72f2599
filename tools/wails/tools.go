//go:build tools

// Package tools pins the Wails CLI. Wails v2.9.2's own go.mod asks for an
// x/tools that no longer compiles on Go 1.26, so the CLI is built from this
// module with a newer x/tools (see scripts/wails.sh).
package tools

import _ "github.com/wailsapp/wails/v2/cmd/wails"
