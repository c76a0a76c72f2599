#!/usr/bin/env bash
# Builds the desktop app with Wails:
#   scripts/build-app.sh              -> build/bin/nemo-transcribe-app      (Linux, cgo + GTK/WebKit)
#   scripts/build-app.sh --windows    -> also build/bin/nemo-transcribe-app.exe (cross-compiled, no cgo)
# Extra arguments after the options go to `wails build` (e.g. -v 2).
# Needs: Go, Node 20 + npm, libgtk-3-dev libwebkit2gtk-4.0-dev pkg-config gcc.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

windows=0
args=()
for a in "$@"; do
	case "$a" in
	--windows) windows=1 ;;
	-h | --help)
		sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) args+=("$a") ;;
	esac
done

# The Go side embeds frontend/dist; the committed placeholder must survive
# whatever the frontend build does to that folder.
keep_gitkeep() { mkdir -p frontend/dist && touch frontend/dist/.gitkeep; }
trap keep_gitkeep EXIT

if [[ ! -d frontend/node_modules ]]; then
	(cd frontend && npm ci --no-audit --no-fund)
fi

# -m and -nosyncgomod: wails must never run `go mod tidy` or rewrite go.mod.
# Production builds are already stripped (wails adds -ldflags "-w -s").
# -clean is not used: it would wipe build/bin, where both platforms' binaries
# live side by side.
# Distributions that dropped WebKitGTK 4.0 (Debian 13, Ubuntu 24.04) build
# against 4.1 with a tag.
linux_tags=()
if ! pkg-config --exists webkit2gtk-4.0 && pkg-config --exists webkit2gtk-4.1; then
	linux_tags=(-tags webkit2_41)
fi
scripts/wails.sh build -platform linux/amd64 -trimpath -m -nosyncgomod "${linux_tags[@]}" "${args[@]}"
keep_gitkeep

if ((windows)); then
	# The frontend is already in dist: skip rebuilding it.
	CGO_ENABLED=0 scripts/wails.sh build -platform windows/amd64 -trimpath -s -m -nosyncgomod "${args[@]}"
	keep_gitkeep
fi

ls -l build/bin/
