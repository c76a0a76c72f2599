#!/usr/bin/env bash
# Verifies the NeMo Triton server on a machine with an NVIDIA GPU, Docker and
# the NVIDIA container toolkit: starts it with models/compose.yaml, waits
# until it is ready, transcribes the bundled speech sample through our CLI
# and checks the words, then measures throughput on a longer recording and
# prints it as RTFx (seconds of audio per second of wall time).
#
#   scripts/verify-gpu.sh [--model NAME] [--minutes N] [--concurrency N]
#                         [--ready-timeout MINUTES] [--keep]
#
#   --model          model to load and test (default parakeet-tdt-0.6b-v2)
#   --minutes        length of the throughput recording (default 15)
#   --concurrency    chunks in flight from the CLI (default 32)
#   --ready-timeout  how long to wait for the first start (default 45 min:
#                    it builds the image and downloads the checkpoint)
#   --keep           leave the server running (a server this script did not
#                    start is always left running)
#
# Exit status 0 when the server answered and the sample's word error rate
# was at most 10 %.
set -euo pipefail
cd "$(dirname "$0")/.."

model=parakeet-tdt-0.6b-v2
minutes=15
concurrency=32
ready_timeout=45
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --ready-timeout) ready_timeout=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "verify-gpu.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n=== %s\n' "$*"; }
die() { echo "verify-gpu.sh: $*" >&2; exit 1; }

if [ ! -f "models/repository/$model/config.pbtxt" ]; then
  have=""
  for c in models/repository/*/config.pbtxt; do have="$have $(basename "$(dirname "$c")")"; done
  die "no model '$model' in models/repository/ (have:$have)"
fi
for tool in docker curl python3 nvidia-smi; do
  command -v "$tool" >/dev/null || die "$tool is missing (this script needs Docker, the NVIDIA driver, curl and python3)"
done
docker compose version >/dev/null 2>&1 || die "the Docker Compose plugin is missing ('docker compose')"

compose=(docker compose -f models/compose.yaml)
work=$(mktemp -d)
started=0
cleanup() {
  if [ "$started" = 1 ] && [ "$keep" = 0 ]; then
    echo "stopping the server (--keep leaves it running)"
    "${compose[@]}" down >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

say "building the CLI"
if command -v go >/dev/null; then
  mkdir -p build/bin
  go build -o build/bin/nemo-transcribe ./cmd/nemo-transcribe
fi
cli=build/bin/nemo-transcribe
[ -x "$cli" ] || die "no $cli and no Go to build it (scripts/install-deps.sh installs Go)"
# Keep this run's staged copies and stored results out of the user's folders.
isolate=(--cache-dir "$work/cache")
if "$cli" transcribe -h 2>&1 | grep -q -- '-data-dir'; then
  isolate+=(--data-dir "$work/data")
fi

say "starting the server with $model"
if [ -z "$("${compose[@]}" ps --status running -q triton 2>/dev/null)" ]; then
  started=1
fi
t0=$(date +%s)
NEMO_MODELS=$model "${compose[@]}" up -d --build
container=$("${compose[@]}" ps -q triton)
[ -n "$container" ] || die "the triton container did not start"

say "waiting for readiness (first start: image build and checkpoint download)"
deadline=$((t0 + ready_timeout * 60))
last_note=0
until curl -fsS "http://127.0.0.1:8000/v2/models/$model/ready" >/dev/null 2>&1 \
   && curl -fsS http://127.0.0.1:8000/v2/health/ready >/dev/null 2>&1; do
  read -r state restarts < <(docker inspect -f '{{.State.Status}} {{.RestartCount}}' "$container")
  if [ "$state" = exited ] || [ "$state" = dead ] || [ "${restarts:-0}" -gt 0 ]; then
    docker logs --tail 60 "$container" >&2 || true
    die "the server stopped while loading $model (state $state, restarts $restarts); its log is above"
  fi
  now=$(date +%s)
  [ "$now" -lt "$deadline" ] || { docker logs --tail 60 "$container" >&2; die "not ready after $ready_timeout minutes"; }
  if [ $((now - last_note)) -ge 30 ]; then
    echo "  not ready yet ($((now - t0)) s): $(docker logs --tail 1 "$container" 2>&1 | cut -c1-150)"
    last_note=$now
  fi
  sleep 5
done
echo "ready after $(($(date +%s) - t0)) s"
"$cli" status --server 127.0.0.1:8001

say "transcribing the bundled speech sample"
"$cli" transcribe --server 127.0.0.1:8001 --model "$model" --out "$work/sample" \
  "${isolate[@]}" --format json,txt models/testdata/speech-en.wav
python3 - "$work/sample/speech-en.json" models/testdata/speech-en.txt <<'PY'
import json, re, sys
got = json.load(open(sys.argv[1], encoding="utf-8"))
ref = open(sys.argv[2], encoding="utf-8").read()
def words(text):
    text = text.lower().replace("mr.", "mister").replace("-", " ")
    return re.findall(r"[a-z']+", text)
h, r = words(got["text"]), words(ref)
# Word error rate: edit distance over words, divided by the reference length.
d = list(range(len(h) + 1))
for i, rw in enumerate(r, 1):
    prev, d[0] = d[0], i
    for j, hw in enumerate(h, 1):
        prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
wer = d[len(h)] / len(r)
print(f"heard:     {got['text']}")
print(f"reference: {' '.join(r)}")
segs = got.get("segments") or []
print(f"segments:  {len(segs)}, words with times: {sum(len(s.get('words') or []) for s in segs)}")
print(f"word error rate: {wer:.1%}")
sys.exit(0 if wer <= 0.10 else 1)
PY
echo "words ok"

say "throughput: $minutes minutes of speech, $concurrency chunks in flight"
python3 - models/testdata/speech-en.wav "$work/long.wav" "$minutes" <<'PY'
import sys, wave
src, dst, minutes = sys.argv[1], sys.argv[2], float(sys.argv[3])
with wave.open(src, "rb") as w:
    params, frames = w.getparams(), w.readframes(w.getnframes())
need = int(minutes * 60 * params.framerate) * params.sampwidth
data = (frames * (need // len(frames) + 1))[:need]
with wave.open(dst, "wb") as w:
    w.setparams(params)
    w.writeframes(data)
PY
audio_s=$(python3 -c "import wave,sys; w=wave.open(sys.argv[1]); print(w.getnframes()/w.getframerate())" "$work/long.wav")
start=$(python3 -c 'import time; print(time.monotonic())')
"$cli" transcribe --server 127.0.0.1:8001 --model "$model" --out "$work/long" "${isolate[@]}" \
  --format json --concurrency "$concurrency" "$work/long.wav"
end=$(python3 -c 'import time; print(time.monotonic())')
python3 - "$audio_s" "$start" "$end" "$model" <<'PY'
import sys
audio, start, end, model = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
wall = end - start
print(f"{model}: {audio:.0f} s of audio in {wall:.1f} s: RTFx {audio / wall:.0f}")
PY
"$cli" status --server 127.0.0.1:8001
