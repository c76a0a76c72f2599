#!/usr/bin/env bash
# Sets everything up and runs the main job once: builds the CLI and the
# protocol test server, makes a sample recording of telephone key presses,
# starts the test server, transcribes the sample and says where the outputs
# are. Against a real Triton server, run the CLI yourself (see the end).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
mkdir -p build/bin demo-output
echo "building the CLI and the test server"
go build -o build/bin/nemo-transcribe ./cmd/nemo-transcribe
go build -o build/bin/triton-devserver ./cmd/triton-devserver
go build -o build/bin/dtmf-synth ./cmd/dtmf-synth

sample=demo-output/sample.wav
build/bin/dtmf-synth --out "$sample" --truth demo-output/sample.truth.json
echo "sample: $sample (45 s, 44.1 kHz stereo, 16 key presses; truth in demo-output/sample.truth.json)"

# Start the protocol test server on a free port; it prints one line when ready.
log=$(mktemp)
build/bin/triton-devserver --addr 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$log" && break
  sleep 0.1
done
addr=$(grep -o 'listening on [^ ]*' "$log" | awk '{print $3}')
[ -n "$addr" ] || { cat "$log"; echo "the test server did not start" >&2; exit 1; }
echo "test server (model: dtmf) at $addr"

build/bin/nemo-transcribe transcribe --server "$addr" --model dtmf \
  --out demo-output --format json,srt,vtt,txt --cache-dir demo-output/cache \
  --data-dir demo-output/data --overwrite "$sample"
echo
echo "transcript (demo-output/sample.txt, one segment a line):"
sed "s/^/    /" demo-output/sample.txt
echo "outputs are in $(pwd)/demo-output (sample.json, .srt, .vtt, .txt)"
echo "server statistics:"
build/bin/nemo-transcribe status --server "$addr"
cat <<MSG

To transcribe your own files with a real Triton server hosting a NeMo model:
  build/bin/nemo-transcribe transcribe --server GPU-HOST:8001 --model parakeet-tdt-0.6b-v2 \\
      --out transcripts --format json,srt,vtt,txt your-recording.wav
MSG
