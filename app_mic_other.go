//go:build !(linux && cgo && (dev || production))

package main

import "context"

// enableMicrophone has nothing to do here: WebView2 (Windows) is granted
// every permission by Wails v2 (SetGlobalPermission(Allow)), WKWebView
// (macOS) asks the user itself once Info.plist names the microphone, and
// a build without a window (tests, bindings) has no web view.
func (a *App) enableMicrophone(context.Context) {}
