#!/usr/bin/env bash
# Regenerates the Go stubs in triton/pb from our .proto files with pinned
# generator versions.
#
#   scripts/gen-proto.sh           # regenerate triton/pb in place
#   scripts/gen-proto.sh --check   # fail if triton/pb differs from what
#                                  # it would generate (CI); writes nothing
#
# The check compares every line but the one naming protoc's version in the
# generated header ("// 	protoc        v3.21.12"): that is a comment, so
# a machine with another protoc passes, while anything protoc or the pinned
# plugins change in the code itself still fails.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
bin="$PWD/tools/bin"
mkdir -p "$bin"

command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
want_go="protoc-gen-go $PROTOC_GEN_GO"
want_grpc="protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC#v}"
[ "$("$bin/protoc-gen-go" --version 2>/dev/null)" = "$want_go" ] ||
  GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
[ "$("$bin/protoc-gen-go-grpc" --version 2>/dev/null)" = "$want_grpc" ] ||
  GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"

out=triton/pb
if [ $check = 1 ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
PATH="$bin:$PATH" protoc -I triton/pb \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  triton/pb/model_config.proto triton/pb/grpc_service.proto
if [ $check = 0 ]; then
  echo "regenerated triton/pb ($(protoc --version))"
  exit 0
fi

# without_protoc_version FILE: FILE with the header's protoc version line
# ("// <tab>protoc  vX" from protoc-gen-go, "// - protoc  vX" from
# protoc-gen-go-grpc) replaced by a fixed one. Only that line, only in the
# header: "protoc-gen-go v1.36.12" and everything from `package` on are kept.
without_protoc_version() {
  sed -E '1,/^package /s#^//[[:space:]]+(- )?protoc[[:space:]]+[^[:space:]]+$#// protoc (version not compared)#' "$1"
}

status=0
for gen in "$out"/*.pb.go; do
  f=triton/pb/$(basename "$gen")
  if [ ! -f "$f" ]; then
    echo "$f is missing: it is generated from triton/pb/*.proto" >&2
    status=1
  elif ! diff -u --label "$f (committed)" --label "$f (generated)" \
      <(without_protoc_version "$f") <(without_protoc_version "$gen"); then
    status=1
  fi
done
for f in triton/pb/*.pb.go; do
  [ -f "$out/$(basename "$f")" ] || { echo "$f is not generated from any .proto any more" >&2; status=1; }
done
if [ $status != 0 ]; then
  echo "triton/pb differs from what scripts/gen-proto.sh generates (protoc's version line aside): run it and commit" >&2
  exit 1
fi
echo "triton/pb is what $(protoc --version) and the pinned plugins generate (protoc's version line not compared)"
