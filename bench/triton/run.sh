#!/usr/bin/env bash
# Client throughput over loopback, as ratios against an anchor measured in
# the same run. Builds the devserver, starts two (one plain, one with the
# simulated dynamic batcher, both skipping the model's computation), runs
# the Go benchmarks in backend/inference against them and prints medians:
#
#   - 30 s chunks (1.92 MB) with 1, 4 and 16 requests in flight: requests/s
#     and MB/s, and MB/s as a fraction of plain TCP loopback (the anchor:
#     the same payloads over one socket, no gRPC);
#   - against 100 ms batches of 8 (80 requests/s at most): the fraction of
#     that capacity the client reaches with 8, 16 and 32 in flight.
#
# Usage: bench/triton/run.sh [COUNT]   (COUNT runs of each, default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-3}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/triton-devserver" ./cmd/triton-devserver

start() { # name args... -> prints the address from the ready line
	local name=$1; shift
	"$tmp/triton-devserver" --addr 127.0.0.1:0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
	for _ in $(seq 100); do
		if grep -q 'listening on' "$tmp/$name.out"; then
			sed -n 's/^triton-devserver listening on \([^ ]*\) .*/\1/p' "$tmp/$name.out"
			return
		fi
		sleep 0.05
	done
	echo "devserver $name did not start: $(cat "$tmp/$name.err")" >&2
	exit 1
}
plain=$(start plain --skip-compute)
batcher=$(start batcher --skip-compute --max-batch 8 --batch-latency 100ms)

TRITON_BENCH_ADDR=$plain TRITON_BENCH_BATCHER_ADDR=$batcher \
	go test -run '^$' -bench 'RecognizeLoopback|LoopbackTCPAnchor|BatcherThroughput' \
	-benchtime 3s -count "$count" ./backend/inference/ | tee "$tmp/bench.txt"

echo
awk '
function median(key,   n, i, j, t, v) {
	n = split(vals[key], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i++) {
		if ($(i + 1) == "MB/s") vals[name " MB/s"] = vals[name " MB/s"] " " $i
		if ($(i + 1) == "req/s") vals[name " req/s"] = vals[name " req/s"] " " $i
		if ($(i + 1) == "of-capacity") vals[name " cap"] = vals[name " cap"] " " $i
	}
	names[name] = 1
}
END {
	anchor = median("BenchmarkLoopbackTCPAnchor MB/s")
	printf "anchor: plain TCP loopback %.0f MB/s (median of %s runs)\n", anchor, split(vals["BenchmarkLoopbackTCPAnchor MB/s"], x, " ")
	for (k = 1; k <= 3; k++) {
		f = (k == 1 ? 1 : (k == 2 ? 4 : 16))
		n = "BenchmarkRecognizeLoopback/inflight=" f
		if (!(n in names)) continue
		printf "30 s chunks, %2d in flight: %6.1f req/s  %6.0f MB/s  = %.2f of the anchor\n", f, median(n " req/s"), median(n " MB/s"), median(n " MB/s") / anchor
	}
	for (k = 1; k <= 3; k++) {
		f = (k == 1 ? 8 : (k == 2 ? 16 : 32))
		n = "BenchmarkBatcherThroughput/inflight=" f
		if (!(n in names)) continue
		printf "batcher 8 per 100 ms, %2d in flight: %5.1f req/s = %.2f of its 80 req/s\n", f, median(n " req/s"), median(n " cap")
	}
}' "$tmp/bench.txt"
