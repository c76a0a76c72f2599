#!/usr/bin/env bash
# Diarization benchmarks for issue 13 (see bench/speakers/main.go):
#
#   accuracy: 10-minute recordings of 2 to 8 test voices speaking random
#             keys in random turns of 1 to 6 presses, through the whole
#             engine (dtmf speech model, voices speaker model), embedding
#             word spans (the default) and, for comparison, 1.5 s windows
#             every 0.75 s. Target: >= 98% of words to the right speaker,
#             also among the words within 2 s of a chunk cut, and the exact
#             speaker count with auto, for every voice count.
#   cluster:  diarize.Cluster alone on 10 min, 1 h and 4 h of 6 voices
#             (bench/diarize/run.sh). Target: 1 h <= 2 s, <= 300 MB extra.
#   overhead: one hour of 6 voices against a test server with a dynamic
#             batcher in front of both models (100 ms per execution, batch
#             8), without and with --speakers auto, in the same run.
#             Target: <= 1.3x.
#
# Usage: bench/speakers/run.sh [accuracy|cluster|overhead|all]   (default all)
# GOMAXPROCS defaults to 2. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
export GOMAXPROCS=${GOMAXPROCS:-2}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/speakersbench" ./bench/speakers
fail=0
if [[ $what == accuracy || $what == all ]]; then
	echo "== accuracy: 10 minutes, 2-8 voices, turns of 1-6 keys"
	"$bin/speakersbench" accuracy -minutes 10 -voices 2-8 -turns 1-6 -spans words,windows || fail=1
fi
if [[ $what == cluster || $what == all ]]; then
	echo "== clustering cost on the client"
	bench/diarize/run.sh 3 || fail=1
fi
if [[ $what == overhead || $what == all ]]; then
	echo "== overhead: one hour against a batching test server"
	"$bin/speakersbench" overhead -minutes 60 -latency 100ms -batch 8 -rounds "${ROUNDS:-1}" || fail=1
fi
exit "$fail"
