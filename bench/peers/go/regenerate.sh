#!/bin/sh
# Regenerates tickwirev1/ (committed) from Protos/tickwire/v1/price_stream.proto
# with Debian's protoc, protoc-gen-go (1.28, APIv2) and protoc-gen-go-grpc
# (grpc 1.33). The M option overrides the .proto's go_package (tickwire/v1)
# with the import path the GOPATH build (build.sh) links the peer under.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
import_path=tickwire.bench/peers/go/tickwirev1
mapping="Mtickwire/v1/price_stream.proto=$import_path"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc -I "$repo/Protos" \
    --go_out="$out" --go_opt="$mapping" \
    --go-grpc_out="$out" --go-grpc_opt="$mapping" \
    tickwire/v1/price_stream.proto
cp "$out/$import_path/price_stream.pb.go" "$out/$import_path/price_stream_grpc.pb.go" "$here/tickwirev1/"
echo "regenerated $here/tickwirev1"
