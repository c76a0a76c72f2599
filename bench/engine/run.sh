#!/usr/bin/env bash
# The transcription engine's two benchmarks, each against an anchor
# measured in the same run (see bench/engine/main.go):
#
#   throughput: a queue of many files against a test server simulating a
#               batching GPU (max batch 8, 100 ms per execution); reported
#               as a share of the server's capacity and of a bare client
#               fed with chunks decoded beforehand. Target: >= 90 % of
#               capacity.
#   hour:       one hour of MP3 through the whole pipeline against a
#               zero-latency test server, versus ffmpeg decoding the same
#               file alone. Target: at most 1.5x.
#
# Usage: bench/engine/run.sh [throughput|hour|all]   (default all)
# Needs ffmpeg for "hour" (apt install ffmpeg). Run it on a quiet machine:
# both sides share the CPU with everything else.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/enginebench" ./bench/engine
if [[ $what == throughput || $what == all ]]; then
	echo "== throughput, built-in decoders"
	NEMO_TRANSCRIBE_FFMPEG=off "$bin/enginebench" throughput -files 100 -seconds 150 -concurrency 8,16,24
	echo "== throughput, default decoders (ffmpeg when installed)"
	"$bin/enginebench" throughput -files 100 -seconds 150 -concurrency 16
fi
if [[ $what == hour || $what == all ]]; then
	echo "== one hour of MP3, server answering at once"
	"$bin/enginebench" hour -minutes 60 -rounds 3 -v -instant -dir "${BENCH_DIR:-/var/tmp}"
	echo "== one hour of MP3, server running the dtmf model on every chunk"
	"$bin/enginebench" hour -minutes 60 -rounds 3 -v -dir "${BENCH_DIR:-/var/tmp}"
fi
