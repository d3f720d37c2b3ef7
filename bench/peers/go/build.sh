#!/bin/sh
# Builds the grpc-go peer offline from Debian's Go packages, in GOPATH mode,
# into .build-peers/tickwire-grpc-go (at the repository root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
packages="golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev"
. "$here/../install-missing.sh"
out="$repo/.build-peers"
gopath="$out/gopath"
# The peer's import path (tickwire.bench/peers/go/...) points at this directory.
mkdir -p "$gopath/src/tickwire.bench/peers"
ln -sfn "$here" "$gopath/src/tickwire.bench/peers/go"
cd "$gopath/src/tickwire.bench/peers/go/server"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/gocache" \
    go build -trimpath -o "$out/tickwire-grpc-go" .
echo "built $out/tickwire-grpc-go"
