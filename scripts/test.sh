#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then checks
# formatting, vet, generated code, the frontend, the Go tests and the
# desktop builds. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "gofmt"
unformatted=$(git ls-files '*.go' | grep -v '\.pb\.go$' | xargs gofmt -l)
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted"; exit 1; }

step "generated gRPC stubs are current"
scripts/gen-proto.sh
git diff --exit-code -- triton/pb || { echo "triton/pb differs from what scripts/gen-proto.sh generates: run it and commit"; exit 1; }

step "go vet"
go vet ./...

step "generated Wails bindings are current"
scripts/wails.sh generate module
git -c core.fileMode=false diff --exit-code -- frontend/wailsjs || { echo "frontend/wailsjs differs from what wails generates: run scripts/wails.sh generate module and commit"; exit 1; }
git ls-files --others --exclude-standard -- frontend/wailsjs | grep . && { echo "wails generated new binding files: commit them"; exit 1; }

step "frontend: type check, unit tests, build"
(cd frontend && npm run check && npm test && npm run build)

step "audio: every format through ffmpeg and the built-in decoders (none may skip)"
scripts/test-audio.sh

step "models: config.pbtxt files and the Python backend"
scripts/test-models.sh

step "desktop app: Linux build"
scripts/build-app.sh

step "desktop window under Xvfb (screenshot in build/test-output/)"
scripts/test-desktop.sh

step "end-to-end: Chromium + Go backend + test server"
scripts/test-e2e.sh

step "Windows: exe + NSIS installer, signed with a throwaway certificate, installed under Wine"
scripts/build-installer.sh --self-signed --wine

step "go test"
go test -count=1 ./...

step "Windows file semantics under Wine (staging and cache)"
scripts/test-windows.sh
