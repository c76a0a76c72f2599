#!/usr/bin/env bash
# The transcription engine's two benchmarks, each against an anchor
# measured in the same run (see bench/engine/main.go):
#
#   throughput: a queue of many files against a test server simulating a
#               batching GPU (max batch 8, 100 ms per execution); reported
#               as a share of the server's capacity and of a bare client
#               fed with chunks decoded beforehand. Target: >= 90 % of
#               capacity.
#   short:      100 files of 20 s (one chunk each) against the same
#               simulated server: ffmpeg's start-up per file is what
#               limits it (short files share ffmpeg processes). Target:
#               >= 90 % of capacity.
#   hour:       one hour of MP3 through the whole pipeline against a
#               zero-latency test server, versus ffmpeg decoding the same
#               file alone, with GOMAXPROCS 1, 2 and all cores (the file is
#               decoded by that many ffmpeg processes on disjoint ranges);
#               once with the model's compact form (FLAC, encoded by the
#               client) and once with an FP32-only model. Target: at most
#               0.75x on 2 cores.
#
# Usage: bench/engine/run.sh [throughput|short|hour|all]   (default all)
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
if [[ $what == short || $what == all ]]; then
	echo "== 100 files of 20 s, default decoders (ffmpeg when installed)"
	"$bin/enginebench" throughput -files 100 -seconds 20 -concurrency 16
fi
if [[ $what == hour || $what == all ]]; then
	echo "== one hour of MP3, server answering at once (FLAC on the wire)"
	"$bin/enginebench" hour -minutes 60 -rounds 3 -instant -procs 1,2,0 -dir "${BENCH_DIR:-/var/tmp}"
	echo "== one hour of MP3, server answering at once, FP32-only model"
	"$bin/enginebench" hour -minutes 60 -rounds 3 -instant -fp32 -procs 1,2,0 -dir "${BENCH_DIR:-/var/tmp}"
	echo "== one hour of MP3, server running the dtmf model on every chunk"
	"$bin/enginebench" hour -minutes 60 -rounds 3 -v -dir "${BENCH_DIR:-/var/tmp}"
fi
