#!/usr/bin/env bash
# Runs the pinned Wails CLI (tools/wails), building it first if it is missing.
# Use it for every wails command: scripts/wails.sh build ..., scripts/wails.sh
# generate module. Wails v2.9.2 cannot be `go install`ed on Go 1.26, so the CLI
# comes from the tools module, which pins a newer golang.org/x/tools.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$root/tools/wails/bin/wails"

if [[ ! -x "$cli" ]]; then
	echo "wails.sh: building the Wails CLI (about 100 s the first time)..." >&2
	go build -C "$root/tools/wails" -o bin/wails github.com/wailsapp/wails/v2/cmd/wails
fi

cd "$root"
exec "$cli" "$@"
