#!/bin/sh
# Builds the grpc-swift-2 peer (release) into .build-peers/swift and links the
# binary to .build-peers/tickwire-grpc-swift-2, where bench/run.py looks; also
# the Swift example client (docs/examples/swift) to .build-peers/tickwire-watch.
# nice -n 19: the build takes minutes on 2 shared cores; others keep priority.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out="$repo/.build-peers"
export PATH="/opt/swift/usr/bin:$PATH"
mkdir -p "$out"
nice -n 19 swift build -c release --package-path "$here" --scratch-path "$out/swift" \
    --product tickwire-grpc-swift-2
nice -n 19 swift build -c release --package-path "$here" --scratch-path "$out/swift" \
    --product tickwire-watch
bin=$(nice -n 19 swift build -c release --package-path "$here" --scratch-path "$out/swift" --show-bin-path)
ln -sfn "$bin/tickwire-grpc-swift-2" "$out/tickwire-grpc-swift-2"
ln -sfn "$bin/tickwire-watch" "$out/tickwire-watch"
echo "built $out/tickwire-grpc-swift-2 $out/tickwire-watch"
