#!/usr/bin/env bash
# The live path's benchmark (see bench/live/main.go): a live session fed
# in real time against the devserver (no added latency, in its own
# process), with final latency (and the pause wait within it), the
# partial interval while a key is held, and the CPU of the live path,
# each beside an anchor measured in the same run. Then the Go benchmark
# of the session alone (an instant recogniser, no network).
#
# Usage: bench/live/run.sh [SECONDS]   (default 60 s of audio, real time)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
bin=$(mktemp -d)
trap 'kill "${dev:-}" 2>/dev/null || true; rm -rf "$bin"' EXIT
go build -o "$bin/livebench" ./bench/live
go build -o "$bin/triton-devserver" ./cmd/triton-devserver
"$bin/triton-devserver" -addr 127.0.0.1:0 >"$bin/dev.log" 2>&1 &
dev=$!
for _ in $(seq 100); do
	addr=$(sed -n 's/^triton-devserver listening on \([^ ]*\).*/\1/p' "$bin/dev.log")
	[[ -n $addr ]] && break
	sleep 0.1
done
[[ -n ${addr:-} ]] || { cat "$bin/dev.log"; exit 1; }
echo "== live session against the devserver at $addr"
"$bin/livebench" -server "$addr" -seconds "$seconds"
echo "== Go benchmark: the session alone (detector, audio file, partials and finals to an instant recogniser)"
go test -run '^$' -bench BenchmarkSession -benchtime 3x ./backend/live/
