// Command nemo-transcribe is the desktop app: a Wails window whose Svelte
// frontend (frontend/) talks to the backend through App (app.go).
package main

import (
	"embed"
	"log"
	"os"
	"path/filepath"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"

	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/secrets"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// assets is the built frontend. frontend/dist/.gitkeep is committed so this
// compiles (and `go test ./...` runs) before any frontend build.
//
//go:embed all:frontend/dist
var assets embed.FS

func main() {
	dataDir, err := config.DefaultDataDir()
	if err != nil {
		log.Fatal(err)
	}
	logs := openLog(dataDir)
	defer logs.Close()
	settings, err := config.OpenSettings(filepath.Join(dataDir, config.SettingsFileName))
	if err != nil {
		log.Print(err) // the defaults are in use; the app still starts
	}
	// The engine dials through the app, so TLS and headers come from the
	// settings and the keyring; when they change, the app has the engine
	// dial again (Engine.Reconnect) without a restart.
	var app *App
	eng, err := transcribe.Open(transcribe.Config{DataDir: dataDir, CacheMaxBytes: int64(settings.Get().CacheMaxMB) << 20, Connect: func(addr string) (*inference.Server, error) { return app.connect(addr) }})
	if err != nil {
		log.Fatal(err)
	}
	queue := transcribe.NewQueue(eng, transcribe.QueueOptions{})
	app = NewApp(eng, queue, settings, nil)
	app.secrets = secrets.Open()
	app.migrateKeyFile() // an older settings file's key file moves into the keyring
	app.editStore, _ = eng.Store().(editStore)
	app.history, _ = eng.Store().(historyStore)
	app.logDir = filepath.Join(dataDir, "logs")
	app.live = newLiveService(eng, eng.Store(), liveDir(dataDir))
	app.setNotifier(beeepNotifier{})
	app.openAtStart = filesToOpen("", os.Args[1:])

	err = wails.Run(&options.App{
		Title:            "NeMo Transcribe",
		Width:            1100,
		Height:           800,
		MinWidth:         640,
		MinHeight:        520,
		BackgroundColour: options.NewRGB(0xf6, 0xf7, 0xf9),
		AssetServer:      &assetserver.Options{Assets: assets},
		DragAndDrop: &options.DragAndDrop{
			EnableFileDrop: true,
		},
		// A second launch with the same data folder hands its files to
		// this window and quits (D-Bus on Linux; without a session bus
		// each launch runs alone).
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId:               instanceID(dataDir),
			OnSecondInstanceLaunch: app.secondInstance,
		},
		OnStartup:      app.startup,
		OnShutdown:     app.shutdown,
		ErrorFormatter: formatError,
		Bind:           []any{app},
	})
	// Close stops the jobs still running; Restore takes them up at the
	// next start.
	queue.Close()
	if cerr := eng.Close(); cerr != nil {
		log.Print(cerr)
	}
	if err != nil {
		log.Fatal(err)
	}
}
