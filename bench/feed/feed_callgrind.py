#!/usr/bin/env python3
"""Instructions per Binance message, counted by valgrind's callgrind.

Runs the release binary under `valgrind --tool=callgrind` against the fake
Binance (Tests/Integration/fake_binance.py, TLS on 127.0.0.1) with one grpcio
StreamPrices client, twice: with N_SMALL and with N_LARGE real trades. It
prints
  - the marginal cost of one message for the whole process, TLS decryption,
    wslay, parsing, fan-out, HTTP/2 framing and the socket write included:
    (Ir(N_LARGE) - Ir(N_SMALL)) / (N_LARGE - N_SMALL);
  - the inclusive cost of the feed's per-message handler (the simdjson parse,
    the trade-id check and the fan-out to the one stream's queue) divided by the
    messages it handled, and of its two parts.
Instruction counts do not depend on the machine's noise, so one run of each
size is enough. Every wait has a deadline.

    .venv/bin/python bench/feed/feed_callgrind.py [--bin .build/release/tickwire] [--small 1000 --large 5000]
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))

import fake_binance  # noqa: E402
import harness  # noqa: E402

RATE = 200.0              # trades/s: slow enough that callgrind (~50x) keeps up
STARTUP_TIMEOUT_S = 120.0
# Functions whose inclusive cost is reported, matched against demangled names.
HANDLER = ":LiveFeed.connection(_:didReceiveText:) "
PARTS = {
    "  parse (tw_json_parse_frame, simdjson)": ":tw_json_parse_frame ",
    "  sequencing + fan-out (LiveFeed.deliver)": ":LiveFeed.deliver(_:on:) ",
    "    of which fan-out (PriceDistributor.publish)": ":PriceDistributor.publish(_:) ",
    "TLS decryption (SSL_read)": ":SSL_read ",
    "WebSocket framing + everything above (wslay_event_recv)": ":wslay_event_recv ",
    "HTTP/2 framing to the client (nghttp2_session_mem_send)": ":nghttp2_session_mem_send ",
}


def run_once(binary: Path, count: int, pki, directory: Path) -> Path:
    frames = fake_binance.load_frames(harness.TRADES_FIXTURE, limit=count)
    out = directory / f"callgrind.{count}.out"
    with fake_binance.FakeBinance(frames, pki.server, rate=RATE, paused=True) as fake:
        wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]
        argv = [str(binary), "--listen", "127.0.0.1:0", "--metrics-listen", harness.DEFAULT_METRICS_LISTEN,
                "--symbols", harness.SYMBOLS,
                "--binance-url", fake.url(), "--binance-ca-file", str(pki.ca.cert),
                "--log-level", "info", "--stale-timeout", "60s"]
        server = harness.TickwireServer(argv, harness.server_env(), directory / f"server.{count}.log",
                                        wrapper=wrapper)
        try:
            port = server.wait_listening(STARTUP_TIMEOUT_S)
            server.log.wait_for("feed connected", STARTUP_TIMEOUT_S)
            harness.ensure_stubs()
            channel = harness.channel(f"127.0.0.1:{port}")
            harness.wait_channel_ready(channel, STARTUP_TIMEOUT_S)
            collector = harness.StreamCollector(channel, name="callgrind",
                                                deadline_s=count / RATE * 4 + 180).start()
            time.sleep(3.0)  # the stream is registered before the clock starts
            fake.resume(RATE)
            if not collector.wait_count(count, timeout_s=count / RATE * 4 + 60):
                raise SystemExit(f"only {collector.count} of {count} trades arrived: {collector.describe_end()}")
            collector.cancel()
            channel.close()
        finally:
            server.stop(signal.SIGTERM, timeout_s=120.0)
    return out


def inclusive_costs(profile: Path) -> tuple[int, dict[str, int]]:
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(profile)],
                               check=True, capture_output=True, text=True).stdout
    demangled = subprocess.run(["swift", "demangle", "--simplified"], input=annotated,
                               check=True, capture_output=True, text=True).stdout
    total = None
    costs: dict[str, int] = {}
    # Lines look like `9,830,336 (2.97%)  ???:LiveFeed.connection(_:didReceiveText:) [/tmp/tickwire]`.
    for line in demangled.splitlines():
        match = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)", line)
        if not match:
            continue
        value = int(match.group(1).replace(",", ""))
        name = match.group(2) + " "
        if "PROGRAM TOTALS" in name:
            total = value
        for label, needle in [("handler", HANDLER), *PARTS.items()]:
            if needle in name.replace(" [", " ") and label not in costs:
                costs[label] = value
    if total is None:
        raise SystemExit(f"no PROGRAM TOTALS in callgrind_annotate output for {profile}")
    return total, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO_ROOT / ".build" / "release" / "tickwire"))
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--keep", help="write the profiles and logs to this directory and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tw-callgrind-") as tmp:
        directory = Path(args.keep) if args.keep else Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        pki = fake_binance.make_test_pki(directory)
        # Debian 12's valgrind cannot read the DWARF 5 that Swift 6 emits; the
        # ELF symbol table is enough for per-function counts.
        binary = directory / "tickwire"
        subprocess.run(["objcopy", "--strip-debug", args.bin, str(binary)], check=True)
        results = {}
        for count in (args.small, args.large):
            started = time.monotonic()
            results[count] = inclusive_costs(run_once(binary, count, pki, directory))
            print(f"run with {count} trades: {time.monotonic() - started:.0f} s, "
                  f"total {results[count][0]:,} instructions", flush=True)
        (small_total, _), (large_total, large_costs) = results[args.small], results[args.large]
        marginal = (large_total - small_total) / (args.large - args.small)
        print(f"\nwhole process, marginal per message: {marginal:,.0f} instructions")
        for label in ["handler", *PARTS]:
            if label in large_costs:
                print(f"{label}: {large_costs[label] / args.large:,.0f} instructions per message "
                      f"(inclusive, {args.large} messages)")
            else:
                print(f"{label}: not found in the profile (inlined?)")


if __name__ == "__main__":
    main()
