// Command nemo-transcribe is the desktop app: a Wails window whose Svelte
// frontend (frontend/) talks to the backend through App (app.go).
package main

import (
	"embed"
	"log"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// assets is the built frontend. frontend/dist/.gitkeep is committed so this
// compiles (and `go test ./...` runs) before any frontend build.
//
//go:embed all:frontend/dist
var assets embed.FS

func main() {
	app := NewApp(transcribe.NewEngine(), nil)

	err := wails.Run(&options.App{
		Title:            "NeMo Transcribe",
		Width:            1000,
		Height:           760,
		MinWidth:         640,
		MinHeight:        520,
		BackgroundColour: options.NewRGB(0xf6, 0xf7, 0xf9),
		AssetServer:      &assetserver.Options{Assets: assets},
		DragAndDrop: &options.DragAndDrop{
			EnableFileDrop: true,
		},
		OnStartup:      app.startup,
		OnShutdown:     app.shutdown,
		ErrorFormatter: formatError,
		Bind:           []any{app},
	})
	if err != nil {
		log.Fatal(err)
	}
}
