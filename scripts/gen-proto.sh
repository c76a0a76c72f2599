#!/usr/bin/env bash
# Regenerates the Go stubs in triton/pb from our .proto files with pinned
# generator versions. CI runs this and fails if the committed code changes.
set -euo pipefail
cd "$(dirname "$0")/.."

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

PATH="$bin:$PATH" protoc -I triton/pb \
  --go_out=triton/pb --go_opt=paths=source_relative \
  --go-grpc_out=triton/pb --go-grpc_opt=paths=source_relative \
  triton/pb/model_config.proto triton/pb/grpc_service.proto
echo "regenerated triton/pb"
