#!/bin/sh
# Starts Triton on this model repository with the models named in
# NEMO_MODELS (comma- or space-separated; default parakeet-tdt-0.6b-v2 and
# titanet-large, the speaker-embedding model diarization uses).
# Arguments are passed on to tritonserver (e.g. the TLS flags).
#
# The repository root (models/repository in this checkout) holds model
# folders only; the shared backend (models/common) lives beside it, because
# Triton lists every folder of the root as a model. Models are loaded
# explicitly, so only the named ones take GPU memory.
set -eu

repo=${NEMO_REPOSITORY:-/opt/nemo-transcribe/models/repository}
models=${NEMO_MODELS:-parakeet-tdt-0.6b-v2,titanet-large}

available() {
  for d in "$repo"/*/config.pbtxt; do
    [ -f "$d" ] && basename "$(dirname "$d")"
  done | tr '\n' ' '
}

load=""
for m in $(echo "$models" | tr ',' ' '); do
  if [ ! -f "$repo/$m/config.pbtxt" ]; then
    echo "serve.sh: no model '$m' in $repo (available: $(available))" >&2
    exit 2
  fi
  load="$load --load-model=$m"
done
if [ -z "$load" ]; then
  echo "serve.sh: NEMO_MODELS names no model (available: $(available))" >&2
  exit 2
fi

echo "serve.sh: starting Triton with:$load" >&2
# The Python backend passes audio to the model through shared memory: start
# each model instance's region at 64 MiB (32 chunks of 30 s: 61.44 MB) instead
# of 1 MiB. compose.yaml and k8s size /dev/shm for these regions plus a full
# batch of the longest chunks the configs accept (deploy_test checks the sum).
# shellcheck disable=SC2086 # $load is a list of flags
exec tritonserver \
  --model-repository="$repo" \
  --model-control-mode=explicit \
  $load \
  --strict-readiness=true \
  --exit-on-error=true \
  --backend-config=python,shm-default-byte-size=67108864 \
  --backend-config=python,shm-growth-byte-size=67108864 \
  "$@"
