#!/usr/bin/env bash
# Checks the Triton model repository in models/ without Docker, NeMo or a
# GPU: the Python backend's unit tests (stand-ins for Triton and NeMo) on
# Debian's python3 with numpy and PyYAML, every config.pbtxt against our
# model_config.proto, and the shell syntax of the server scripts. Installs
# the Debian packages it needs when missing. The Go side of the contract
# check runs with `go test ./models/`.
set -euo pipefail
cd "$(dirname "$0")/.."

py=/usr/bin/python3
need=()
[ -x "$py" ] || need+=(python3)
"$py" -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
"$py" -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  . scripts/lib/apt.sh
  apt_need "${need[@]}"
fi

echo "=== models: config.pbtxt against triton/pb/model_config.proto"
n=0
for cfg in models/repository/*/config.pbtxt; do
  protoc --encode=inference.ModelConfig -I triton/pb triton/pb/model_config.proto <"$cfg" >/dev/null \
    || { echo "$cfg does not match triton/pb/model_config.proto" >&2; exit 1; }
  echo "ok  $cfg"
  n=$((n + 1))
done
[ "$n" -ge 3 ] || { echo "expected at least 3 models, found $n" >&2; exit 1; }
# The CPU profile (generated from the above by models/profile.go).
for cfg in models/repository-cpu/*/config.pbtxt; do
  protoc --encode=inference.ModelConfig -I triton/pb triton/pb/model_config.proto <"$cfg" >/dev/null \
    || { echo "$cfg does not match triton/pb/model_config.proto" >&2; exit 1; }
  echo "ok  $cfg"
done

echo "=== models: shell syntax"
sh -n models/serve.sh
bash -n scripts/verify-gpu.sh
echo "ok  models/serve.sh scripts/verify-gpu.sh"

echo "=== models: Python backend unit tests"
# No __pycache__ left in the source tree (the tests run from it).
PYTHONDONTWRITEBYTECODE=1 "$py" -m unittest discover -s models -p '*test*.py'
