#!/usr/bin/env bash
# Installs what the server needs, builds it (release), and starts it.
#
# Which data source it serves, said on the first line it prints:
#   no arguments               the recorded Binance trades in Tests/Fixtures, looped
#                              without end at their recorded pace, on 0.0.0.0:50051;
#   arguments naming no source the same looped recording, with those arguments
#                              (e.g. `--listen 127.0.0.1:50071`);
#   --replay FILE              that recording, as the other arguments say (add
#                              --replay-loop to loop it); TICKWIRE_REPLAY counts too;
#   --live                     Binance's live trade stream (stream.binance.com:9443
#                              must be reachable). --live is this script's, not tickwire's:
#                              tickwire connects to Binance whenever it has no --replay.
# Every other argument goes to tickwire (see `tickwire --help`).
# DRY_RUN=1 prints the command it would run, one line, and stops: no install, no build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fixture=Tests/Fixtures/binance-2024-08-08-btcusdt-ethusdt-trades.jsonl

live=false replay_named=false loop_named=false
args=()
for arg in "$@"; do
    case "$arg" in
        --live) live=true ;;
        --replay | --replay=*) replay_named=true; args+=("$arg") ;;
        --replay-loop | --no-replay-loop) loop_named=true; args+=("$arg") ;;
        *) args+=("$arg") ;;
    esac
done
[ -n "${TICKWIRE_REPLAY:-}" ] && replay_named=true
[ -n "${TICKWIRE_REPLAY_LOOP:-}" ] && loop_named=true

if $live && $replay_named; then
    echo "run.sh: --live and --replay both name a data source; give one" >&2
    exit 64
elif $live; then
    echo "run.sh: data source: Binance live trades (--binance-url, default wss://stream.binance.com:9443/stream)" >&2
elif $replay_named; then
    echo "run.sh: data source: the recording given by --replay (or TICKWIRE_REPLAY)" >&2
else
    # A demo that never goes silent: the recording starts over at its end.
    args=(--replay "$fixture" "${args[@]}")
    $loop_named || args+=(--replay-loop)
    echo "run.sh: data source: recorded Binance trades ($fixture), looped; --live connects to Binance instead" >&2
fi

if [ -n "${DRY_RUN:-}" ]; then
    printf '%q ' .build/release/tickwire "${args[@]}"
    echo
    exit 0
fi

[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
swift build -c release --product tickwire >&2
exec .build/release/tickwire "${args[@]}"
