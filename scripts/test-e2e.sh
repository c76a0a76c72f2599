#!/usr/bin/env bash
# End-to-end tests: Debian's Chromium, driven by playwright-core, against
# the real Go backend (the app's dev-tag binary under Xvfb serving the built
# frontend with live bindings) and a real Triton test server.
#
#   scripts/test-e2e.sh [TEST_FILE...]     default: every frontend/e2e/*.test.mjs
#
# Builds build/bin/app-e2e, triton-devserver and dtmf-synth and the
# frontend, then runs the tests with node's test runner. Screenshots of each
# step land in build/test-output/e2e/. Installs chromium and xvfb from
# Debian and the npm packages if they are missing; never downloads a browser.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf 'test-e2e: %s\n' "$*"; }

. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

apt_need chromium xvfb xauth
# Japanese and Chinese UI text in the screenshots (languages.test.mjs).
apt_need fonts-noto-cjk
# The dev-tag app links GTK and WebKitGTK (4.1, with its build tag, where a
# release has no 4.0).
webkit=libwebkit2gtk-4.0-dev
if ! apt-cache show "$webkit" >/dev/null 2>&1 && apt-cache show libwebkit2gtk-4.1-dev >/dev/null 2>&1; then
	webkit=libwebkit2gtk-4.1-dev
fi
apt_need gcc pkg-config libgtk-3-dev "$webkit"
tags=dev
if ! pkg-config --exists webkit2gtk-4.0 && pkg-config --exists webkit2gtk-4.1; then
	tags=dev,webkit2_41
fi
# playwright-core has no install step of its own; this keeps any tool from
# fetching a browser build.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d frontend/node_modules/playwright-core ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
	(cd frontend && npm ci --no-audit --no-fund)
fi

keep_gitkeep() { mkdir -p frontend/dist && touch frontend/dist/.gitkeep; }
trap keep_gitkeep EXIT

log "building the dev-tag app, the test server and dtmf-synth"
mkdir -p build/bin
go build -tags "$tags" -o build/bin/app-e2e .
go build -o build/bin/triton-devserver ./cmd/triton-devserver
go build -o build/bin/dtmf-synth ./cmd/dtmf-synth
log "building the frontend"
(cd frontend && npm run build --silent >/dev/null)
keep_gitkeep

rm -rf build/test-output/e2e
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	tests=(frontend/e2e/*.test.mjs)
fi
# One file at a time: each starts its own X server, app and browser, and
# two cores are enough for one such stack.
cd frontend
exec node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=spec "${tests[@]/#frontend\//}"
