#!/usr/bin/env bash
# Installs what the server needs, builds it (release), and starts it.
# With no arguments it serves the recorded Binance trades in Tests/Fixtures at
# their recorded pace on 0.0.0.0:50051; any arguments go to tickwire instead
# (see `tickwire --help`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

bash scripts/install-deps.sh
swift build -c release --product tickwire >&2

if [ "$#" -eq 0 ]; then
    set -- --replay Tests/Fixtures/binance-2024-08-08-btcusdt-ethusdt-trades.jsonl --replay-speed 1
fi
exec .build/release/tickwire "$@"
