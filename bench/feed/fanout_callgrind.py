#!/usr/bin/env python3
"""Instructions per delivered message on the fan-out path, counted by callgrind.

Runs the release binary (debug info stripped: Debian's valgrind cannot read
DWARF 5) under `valgrind --tool=callgrind` twice, with --streams grpcio
streams (one connection each, or spread over --connections) on a fixed-rate
looped replay, holding
--short-s and then --long-s. The marginal cost of one delivered message for
the whole process, replay parse, encode, queueing, HTTP/2 framing and the
socket write included, is

    (Ir(long) - Ir(short)) / (messages(long) - messages(short)).

Instruction counts do not depend on the machine's noise, so one pair of runs
is enough. Every wait has a deadline.

    .venv/bin/python bench/feed/fanout_callgrind.py [--bin .build/release/tickwire] [--streams 10]
        [--connections 2]   # several streams per connection: the multi-stream DATA pass
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))

import harness  # noqa: E402

RATE = 200  # trades/s: slow enough that the server keeps up under callgrind (~50x)
STARTUP_TIMEOUT_S = 120.0


def total_instructions(callgrind_out: Path) -> int:
    for line in callgrind_out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise AssertionError(f"no summary line in {callgrind_out}")


def measure(binary: Path, streams: int, connections: int, hold_s: float, out: Path) -> tuple[int, int]:
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, wait_streams=streams, log_level="info")
    at = argv.index("--replay-speed")
    del argv[at:at + 2]  # --replay-rate replaces it
    argv[0] = str(binary)
    # --flush-linger 0: one DATA frame per message per stream, the worst case
    # this counts, whatever the default write policy does under load.
    argv += ["--replay-rate", str(RATE), "--replay-loop", "--flush-linger", "0"]
    server = harness.TickwireServer(argv, harness.server_env(), None,
                                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    try:
        server.wait_listening(STARTUP_TIMEOUT_S)
        harness.ensure_stubs()
        # One grpcio channel is one HTTP/2 connection: its streams share it.
        channels = [harness.channel(server.target) for _ in range(connections)]
        collectors = [harness.StreamCollector(channels[i % connections], name=f"s{i}",
                                              deadline_s=hold_s + 120).start() for i in range(streams)]
        assert harness.wait_until(lambda: all(c.count() > 0 for c in collectors), 60), "streams got no prices"
        time.sleep(hold_s)
        for collector in collectors:
            collector.cancel()
        server.stop(timeout_s=120)
    finally:
        server.kill()
    return sum(c.count() for c in collectors), total_instructions(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, default=REPO_ROOT / ".build/release/tickwire")
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--connections", type=int, default=None,
                        help="spread the streams over this many connections (default: one each)")
    parser.add_argument("--short-s", type=float, default=10)
    parser.add_argument("--long-s", type=float, default=30)
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the two callgrind.out files here, for callgrind_annotate")
    args = parser.parse_args()
    connections = args.connections or args.streams
    if not 1 <= connections <= args.streams:
        parser.error(f"--connections must be between 1 and --streams ({args.streams})")
    with tempfile.TemporaryDirectory(prefix="tickwire-callgrind-") as tmp:
        binary = Path(tmp) / "tickwire"
        subprocess.run(["objcopy", "--strip-debug", str(args.bin), str(binary)], check=True)
        short = measure(binary, args.streams, connections, args.short_s, Path(tmp) / "short.out")
        long = measure(binary, args.streams, connections, args.long_s, Path(tmp) / "long.out")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("short.out", "long.out"):
                shutil.copy(Path(tmp) / name, args.keep / name)
    marginal = (long[1] - short[1]) / (long[0] - short[0])
    print(f"short hold: {short[0]} messages, {short[1]:,} Ir; long hold: {long[0]} messages, {long[1]:,} Ir")
    print(f"marginal: {marginal:,.0f} instructions per delivered message "
          f"({args.streams} streams on {connections} connections, {RATE} trades/s, whole process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
