#!/bin/sh
# Builds the gRPC C++ peer from Debian 12's packages (gRPC C++ 1.51, protobuf
# 3.21, simdjson 3.0) into .build-peers/tickwire-grpc-cpp (at the repository
# root), where bench/run.py looks. Idempotent: apt runs only for what is
# missing, and make rebuilds only what changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
packages="g++ make pkg-config libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libsimdjson-dev"
. "$here/../install-missing.sh"
out="$repo/.build-peers"
mkdir -p "$out/cpp"
# nice: the machine is shared with Swift builds; two jobs for its two cores.
nice -n 19 make -C "$here" -j2 OUT="$out"
echo "built $out/tickwire-grpc-cpp"
