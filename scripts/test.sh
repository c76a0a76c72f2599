#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then the
# fast checks (formatting, generated code, vet, the Go tests — the
# concurrent packages under the race detector — and the frontend's type
# check and unit tests) before the slow ones (the audio format matrix, the
# model repository, the desktop build and window, end-to-end, Windows
# under Wine). Exits non-zero on the first failure; the versions of the
# tools and Debian packages used are in the log either way.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "versions"
versions=$(scripts/versions.sh)
printf '%s\n' "$versions"
# Later steps install what they need when it is missing: the log ends with
# the versions again if they did.
print_new_versions() {
  local now
  now=$(scripts/versions.sh 2>/dev/null) || return 0
  [ "$now" = "$versions" ] || { step "versions (the run installed more)"; printf '%s\n' "$now"; }
}
trap print_new_versions EXIT

# The packages whose code runs goroutines together: their tests run under
# the race detector as well.
race_pkgs=(./backend/transcribe/... ./backend/inference/... ./triton/...
           ./backend/store/... ./backend/cache/... ./backend/staging/...
           ./backend/localserver/... ./backend/live/...)
# The tests scripts/test-audio.sh runs (its -run pattern, over backend/audio
# and cmd/nemo-transcribe) run there only, where none may skip; the other
# tests of those two packages run without them, each test once.
audio_run=$(sed -nE "s/^go test .* -run '([^']+)'.*/\1/p" scripts/test-audio.sh)
[ -n "$audio_run" ] && [ "$(wc -l <<<"$audio_run")" -eq 1 ] ||
  { echo "cannot read the one -run pattern of scripts/test-audio.sh's go test" >&2; exit 1; }

# --- fast checks

step "gofmt"
unformatted=$(git ls-files '*.go' | grep -v '\.pb\.go$' | xargs gofmt -l)
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted"; exit 1; }

step "generated gRPC stubs are current (protoc's version comment aside)"
scripts/gen-proto.sh --check

step "go vet"
go vet ./...

step "generated Wails bindings are current"
scripts/wails.sh generate module
git -c core.fileMode=false diff --exit-code -- frontend/wailsjs || { echo "frontend/wailsjs differs from what wails generates: run scripts/wails.sh generate module and commit"; exit 1; }
git ls-files --others --exclude-standard -- frontend/wailsjs | grep . && { echo "wails generated new binding files: commit them"; exit 1; }

step "go test -race: the concurrent packages"
go test -race -count=1 "${race_pkgs[@]}"

step "go test: every package (backend/audio and the CLI's audio tests run in the audio step)"
mapfile -t pkgs < <(go list ./... | grep -v -e '/backend/audio$' -e '/cmd/nemo-transcribe$')
go test -count=1 "${pkgs[@]}"
go test -count=1 -skip "$audio_run" ./cmd/nemo-transcribe

step "frontend: type check, unit tests, build"
(cd frontend && npm run check && npm test && npm run build)

# --- slow checks

step "audio: every format through ffmpeg and the built-in decoders (none may skip)"
scripts/test-audio.sh
go test -count=1 -skip "$audio_run" ./backend/audio

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

step "Windows file semantics under Wine (staging and cache)"
scripts/test-windows.sh
