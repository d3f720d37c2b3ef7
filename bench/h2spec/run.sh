#!/usr/bin/env bash
# Runs h2spec (HTTP/2 conformance) against a release build serving a replay.
# h2spec is neither in Debian nor on PyPI, so it is built here from a local
# clone of github.com/summerwind/h2spec with Debian's Go toolchain and Go
# library packages (GOPATH mode, no module downloads):
#
#   bash bench/h2spec/run.sh /path/to/h2spec-clone [tickwire-binary]
#
# Prints h2spec's report; its last line is the summary the notes quote.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source_dir=${1:?usage: run.sh /path/to/h2spec-clone [tickwire-binary]}
binary=${2:-$root/.build/release/tickwire}
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

apt-get install -y -q golang-go golang-golang-x-net-dev golang-github-spf13-cobra-dev \
    golang-github-fatih-color-dev >/dev/null
mkdir -p "$work/gopath/src/github.com/summerwind"
cp -r "$source_dir" "$work/gopath/src/github.com/summerwind/h2spec"
(cd "$work/gopath/src/github.com/summerwind/h2spec" &&
    GOPATH="$work/gopath:/usr/share/gocode" GO111MODULE=off GOPROXY=off go build -o "$work/h2spec" ./cmd/h2spec)

port=50199
"$binary" --listen "127.0.0.1:$port" --metrics-listen off --log-level warning \
    --replay "$root/Tests/Fixtures/binance-2024-08-08-btcusdt-ethusdt-trades.jsonl" --replay-speed 1 &
server=$!
sleep 1
"$work/h2spec" -h 127.0.0.1 -p "$port" -o 2 || true
