#!/bin/sh
# Builds the Go example (twwatch) offline from Debian 12's packages in GOPATH
# mode, as bench/peers/go does: protoc, protoc-gen-go and protoc-gen-go-grpc
# generate the tickwire.v1 package under its go_package import path
# ("tickwire/v1") inside a throwaway GOPATH, and go build links twwatch.
#
# usage: docs/examples/go/build.sh [OUT_DIR]    (default /tmp/tickwire-examples/go)
# Packages: golang-go golang-google-grpc-dev golang-google-protobuf-dev
#           golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc
#           (scripts/install-deps.sh --test installs them)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${1:-/tmp/tickwire-examples/go}
gopath="$out/gopath"
mkdir -p "$gopath/src"
protoc -I "$repo/Protos" --go_out="$gopath/src" --go-grpc_out="$gopath/src" \
    tickwire/v1/price_stream.proto
# The example's own import path is its directory name.
ln -sfn "$here/twwatch" "$gopath/src/twwatch"
cd "$gopath/src/twwatch"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/gocache" \
    go build -o "$out/twwatch" .
echo "built $out/twwatch"
