#!/usr/bin/env python3
"""Allocation calls per trade with candle-based subscriptions, at the scale
issue 18 names: 100 streams x 10 candle-based subscriptions at 2,000 trades/s.

The server runs under Tests/Integration/malloc_counter.c (LD_PRELOAD); tw-load
(bench/loadclient) opens the streams with `--candle-interval 2` (its ten
indicators on 1m candle closes, provisional values on) and reads everything.
After a warm-up, the allocation count and /metrics' trades-published counter
are read at the start and the end of the hold window; the ratio is the figure.

Python grpcio cannot read 100 streams at 2,000 trades/s, which is why this is
a bench with the C client and Tests/Integration/test_allocations.py runs the
same subscriptions on 20 streams at a lower rate.

    python3 bench/candles/allocations.py --bin .build/release/tickwire [--streams 100] [--hold-s 20]
"""

from __future__ import annotations

import argparse
import re
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(REPO_ROOT / "bench" / "load"))

import harness  # noqa: E402
import tw_load  # noqa: E402

COUNTER_SOURCE = REPO_ROOT / "Tests" / "Integration" / "malloc_counter.c"
LOAD_CLIENT = REPO_ROOT / ".build-loadclient" / "tw-load"


def published(metrics_port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(r"^tickwire_trades_published_total (\d+)", text, re.MULTILINE)
    assert match, "no tickwire_trades_published_total in /metrics"
    return int(match.group(1))


def counts(path: Path) -> int:
    with open(path, "rb") as file:
        return struct.unpack("<QQ", file.read(16))[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=REPO_ROOT / ".build" / "release" / "tickwire")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--connections", type=int, default=10, help="the streams are spread over these")
    parser.add_argument("--rate", type=int, default=2000, help="trades/s (--replay-rate)")
    parser.add_argument("--candle-interval", type=int, default=2,
                        help="tw-load's --candle-interval (2: 1m); 0 measures per-trade indicators instead")
    parser.add_argument("--indicators", type=int, default=10,
                        help="subscriptions per stream (0: prices only, the background to compare with)")
    parser.add_argument("--warmup-s", type=float, default=5)
    parser.add_argument("--hold-s", type=float, default=20)
    args = parser.parse_args()

    subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "bench" / "loadclient")], check=True, timeout=300)
    work = Path(tempfile.mkdtemp(prefix="tw-candle-alloc-"))
    library = work / "libmalloc_counter.so"
    subprocess.run(["/opt/swift/usr/bin/clang", "-O2", "-shared", "-fPIC", "-o", str(library), str(COUNTER_SOURCE)],
                   check=True, timeout=60)
    counter_file = work / "allocations"
    argv = [str(args.bin), "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
            "--symbols", "btcusdt,ethusdt", "--replay", str(harness.TRADES_FIXTURE), "--replay-rate", str(args.rate),
            "--replay-loop", "--replay-wait-streams", str(args.streams), "--log-level", "info"]
    env = harness.server_env({"LD_PRELOAD": str(library), "TW_MALLOC_COUNTER_FILE": str(counter_file)})
    server = harness.TickwireServer(argv, env, work / "server.log")
    client = None
    try:
        server.wait_listening(timeout_s=20)
        metrics_port = server.wait_metrics_listening(timeout_s=20)
        client = tw_load.spawn(LOAD_CLIENT, server.target, connections=args.connections, streams=args.streams, indicators=args.indicators,
                               duration_s=args.warmup_s + args.hold_s + 30, json_path=work / "load.json",
                               candle_interval=args.candle_interval)
        time.sleep(args.warmup_s)
        allocations_before, trades_before = counts(counter_file), published(metrics_port)
        time.sleep(args.hold_s)
        allocations_after, trades_after = counts(counter_file), published(metrics_port)
        trades = trades_after - trades_before
        allocations = allocations_after - allocations_before
        what = "candle-based" if args.candle_interval else "per-trade"
        print(f"{args.streams} streams x {args.indicators} {what} subscriptions at --replay-rate {args.rate}, {args.hold_s:g} s: "
              f"{trades} trades, {allocations} allocation calls, {allocations / max(1, trades):.4f} per trade")
        assert trades > 0, "no trades published in the window"
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait(5)
        server.stop(timeout_s=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
