#!/usr/bin/env bash
# Installs what building and testing NeMo Transcribe needs on Debian 12 /
# Ubuntu: Debian packages (only those missing), the frontend's npm packages,
# Go modules. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# WebKitGTK 4.0 on Debian 12 / Ubuntu 22.04; 4.1 (built with -tags
# webkit2_41) on newer releases that dropped 4.0.
webkit=libwebkit2gtk-4.0-dev
if ! apt-cache show "$webkit" >/dev/null 2>&1 && apt-cache show libwebkit2gtk-4.1-dev >/dev/null 2>&1; then
  webkit=libwebkit2gtk-4.1-dev
fi
pkgs=(ca-certificates git gcc pkg-config protobuf-compiler libgtk-3-dev "$webkit"
      xvfb xauth ffmpeg pocketsphinx-testdata)
command -v go >/dev/null || pkgs+=(golang-go)
command -v npm >/dev/null || pkgs+=(nodejs npm)
. scripts/lib/apt.sh
apt_need "${pkgs[@]}"

# go.mod asks for Go 1.26; an older go command fetches that toolchain from
# the Go module proxy by itself (GOTOOLCHAIN=auto).
go version
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Node.js 20 or newer is needed for the frontend build (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

go mod download
if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  (cd frontend && npm ci --no-audit --no-fund)
fi
