#!/usr/bin/env bash
# The audio checks: installs what they need when it is missing (ffmpeg for
# the format fixtures and the fast decoding path, pocketsphinx-testdata for
# the real-speech chunking test, time for the memory benchmark), then runs
# the audio tests and makes sure none of them skipped for want of those.
#
#   scripts/test-audio.sh            # tests (about a minute)
#   scripts/test-audio.sh --fuzz     # and 20 s of each audio fuzzer
#   scripts/test-audio.sh --bench    # and bench/audio/bench.sh (several minutes)
#
# The same tests run in a plain `go test ./...`; there they skip, saying
# why, on a machine without ffmpeg or pocketsphinx-testdata.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=0 bench=0
for a in "$@"; do
  case "$a" in
    --fuzz) fuzz=1 ;;
    --bench) bench=1 ;;
    *) echo "usage: $0 [--fuzz] [--bench]" >&2; exit 2 ;;
  esac
done

. scripts/lib/apt.sh
apt_need ffmpeg pocketsphinx-testdata time

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
go test -count=1 -v ./backend/audio ./cmd/nemo-transcribe -run 'Format|Speech|Decoder|Video|Truncated|BadFiles|Builtin|Probe|MP3|Opus|FFmpeg|FLAC' >"$out" 2>&1
status=$?
set -e
grep -E '^(--- FAIL|FAIL|ok|panic)' "$out" || true
if [ $status -ne 0 ]; then
  grep -B2 -A20 -E -- '--- FAIL' "$out" | head -200
  echo "audio tests failed" >&2
  exit 1
fi
if grep -E -- '--- SKIP' "$out"; then
  grep -A2 -E -- '--- SKIP' "$out"
  echo "audio tests skipped: their tools should have been installed above" >&2
  exit 1
fi
echo "audio tests: $(grep -c -E -- '^\s*--- PASS' "$out") passed, none skipped"

if [ $fuzz = 1 ]; then
  for f in FuzzDecodeWAV FuzzChunker FuzzBuiltinDecoders FuzzMP3Tag FuzzOggPackets FuzzMP4Header; do
    echo "fuzzing $f for 20 s"
    go test ./backend/audio -run XXX -fuzz "^$f\$" -fuzztime 20s | tail -2
  done
fi
if [ $bench = 1 ]; then
  bench/audio/bench.sh
fi
