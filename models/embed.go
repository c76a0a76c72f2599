package models

import (
	"embed"
	"io/fs"
)

// serverFiles are the files `docker compose` needs to build and run the
// server, embedded so that the app can write them into its data folder and
// start a local server (package backend/localserver). They are these very
// files, so the copy is byte-identical by construction; a test in
// backend/localserver checks the written tree against this folder. Patterns
// name files, not folders, so that a checkpoint (*.nemo) a user put in a
// model folder of a checkout is never embedded; a test fails when a model
// folder holds a shipped file no pattern covers.
//
//go:embed Dockerfile .dockerignore compose.yaml compose.cpu.yaml compose.tls.yaml serve.sh
//go:embed common/*.py
//go:embed repository/*/config.pbtxt repository/*/*/*.py
//go:embed repository-cpu/*/config.pbtxt repository-cpu/*/*/*.py
var serverFiles embed.FS

// ServerFiles is the embedded server folder: Dockerfile, compose files,
// serve.sh, common/ and both model repositories, with the paths they have
// under models/.
func ServerFiles() fs.FS { return serverFiles }
