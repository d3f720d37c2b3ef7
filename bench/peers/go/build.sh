#!/bin/sh
# Builds the grpc-go peer offline from Debian's Go packages, in GOPATH mode,
# into .build-peers/tickwire-grpc-go (at the repository root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
packages="golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
out="$repo/.build-peers"
gopath="$out/gopath"
# The peer's import path (tickwire.bench/peers/go/...) points at this directory.
mkdir -p "$gopath/src/tickwire.bench/peers"
ln -sfn "$here" "$gopath/src/tickwire.bench/peers/go"
cd "$gopath/src/tickwire.bench/peers/go/server"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/gocache" \
    go build -trimpath -o "$out/tickwire-grpc-go" .
echo "built $out/tickwire-grpc-go"
