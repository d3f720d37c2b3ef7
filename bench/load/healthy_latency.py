#!/usr/bin/env python3
"""Healthy clients' latency while a slow consumer never reads (issue 6's figure).

tickwire replays the looped trades fixture at --trades-per-s (5,000 by
default, as Tests/Integration/test_slow_consumers.py). One tw-load process
opens --healthy streams, one connection each, that read everything, plus
--stalled streams on one more connection that is never read (a 4 KiB receive
buffer and huge HTTP/2 windows, as the test's raw h2 client), so the server's
own queue for them grows until --slow-consumer-timeout ends them. tw-load
decodes every price of the healthy streams (--sample-every 1) and reports the
ingest -> receipt latency: the server's ingest_unix_nanos against the client's
CLOCK_REALTIME when the bytes left the kernel. The target: p99 under 5 ms.

    .venv/bin/python bench/load/healthy_latency.py --bin .build/release/tickwire --server-cpu 1

Every phase has a deadline; a run takes about --hold-s + 10 s. The stalled
stream first fills the kernel buffers (the server's send buffer grows to a few
MiB on loopback), then the server's soft limit, then waits out the timeout:
about 15 s at 5,000 trades/s, hence the 25 s hold.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(REPO_ROOT / "bench" / "load"))

import fanout_soak  # noqa: E402
import harness  # noqa: E402
import indicator_soak  # noqa: E402
import tw_load  # noqa: E402

TARGET_P99_MS = 5.0
SLOW_LOG = "stream too slow"


def run(args) -> int:
    binary = Path(args.bin or os.environ.get("TICKWIRE_BIN") or REPO_ROOT / ".build/release/tickwire")
    if not binary.exists():
        print(f"no binary at {binary}: swift build -c release --product tickwire", file=sys.stderr)
        return 2
    os.environ["TICKWIRE_BIN"] = str(binary)
    load_client = tw_load.ensure_built(args.load_client)
    speed = args.trades_per_s / (harness.FIXTURE_TRADE_COUNT / fanout_soak.FIXTURE_SPAN_S)
    copies = max(1, math.ceil(args.trades_per_s * (args.hold_s + 10) / harness.FIXTURE_TRADE_COUNT))

    with tempfile.TemporaryDirectory(prefix="tickwire-healthy-latency-") as tmp:
        replay = fanout_soak.looped_replay(copies, Path(tmp))
        argv = harness.server_argv(replay, speed=f"{speed:.4f}", wait_streams=args.healthy + args.stalled,
                                   log_level="info", extra=["--slow-consumer-timeout", args.slow_consumer_timeout])
        busy = indicator_soak.wait_for_quiet_machine(args.wait_quiet_s)
        print(f"machine busy {busy * 100:.0f}% of one CPU in the second before the start", flush=True)
        placement = indicator_soak.place_processes(args.server_cpu)
        server = harness.TickwireServer(argv, harness.server_env(), Path(tmp) / "server.log")
        if args.server_cpu is not None:
            os.sched_setaffinity(server.proc.pid, {args.server_cpu})
        if args.realtime:
            indicator_soak.make_realtime(server.proc.pid)
            placement += "; server and tw-load at SCHED_RR 1 (--realtime)"
        proc = None
        try:
            server.wait_listening()
            report_path = Path(tmp) / "tw-load.json"
            proc = tw_load.spawn(load_client, server.target, connections=args.healthy, streams=args.healthy,
                                 indicators=0, duration_s=args.hold_s + 30, json_path=report_path,
                                 sample_every=1, stalled_streams=args.stalled, warmup_s=args.warmup_s,
                                 cpu=min(os.sched_getaffinity(0)) if args.server_cpu is not None else None)
            if args.realtime:
                indicator_soak.make_realtime(proc.pid)
            fanout_soak.read_json_line(proc, "ready", 20)
            server.log.wait_for(r"replay starting", 20)
            meter = indicator_soak.HoldMeter(server.proc.pid, [proc.pid])
            time.sleep(args.hold_s)
            cpu = meter.read()
            load, _ = tw_load.stop(proc, report_path)
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
            server.stop(timeout_s=15)
        slow = server.log.matching(SLOW_LOG)
    report(args, load, cpu, slow, placement)
    return 0


def report(args, load: dict, cpu: dict, slow: list[str], placement: str) -> None:
    lat = load["latency_us"]
    p99_ms = lat["p99"] / 1000
    print()
    print(f"replay              {args.trades_per_s:.0f} trades/s; {args.healthy} healthy streams (one connection "
          f"each), {args.stalled} stalled on one more connection; --slow-consumer-timeout {args.slow_consumer_timeout}")
    print(f"healthy prices      {load['window']['prices']} in a {load['window_s']:.1f} s window after "
          f"{args.warmup_s:g} s of warmup; per stream {load['per_stream']['prices_min']}.."
          f"{load['per_stream']['prices_max']}; streams ended early {load['errors']}")
    print(f"latency ingest->receipt p50/p90/p99/p99.9/max  {lat['p50'] / 1000:.3f} / {lat['p90'] / 1000:.3f} / "
          f"{p99_ms:.3f} / {lat['p999'] / 1000:.3f} / {lat['max'] / 1000:.3f} ms over {lat['samples']} prices "
          f"(every price decoded; p99 {'under' if p99_ms < TARGET_P99_MS else 'NOT under'} {TARGET_P99_MS:g} ms)")
    print(f"slow consumer       {len(slow)} 'stream too slow' log line(s): {slow[0] if slow else 'none'}")
    print(f"CPU during hold     server {cpu['server_cpu'] * 100:.0f}% (waiting for a CPU {cpu['server_wait'] * 100:.0f}% "
          f"of the time), tw-load {load['cpu']['window_share_of_core'] * 100:.0f}% "
          f"({load['cpu']['ns_per_msg_window']:.0f} ns per message; waiting {cpu['client_wait'][0] * 100:.0f}%), other processes ~{cpu['other_cpu'] * 100:.0f}%; "
          f"machine busy {cpu['box_busy'] * 100:.0f}% of {os.cpu_count() * 100}%")
    print(f"CPU placement       {placement}")
    if cpu["other_cpu"] > 0.10:
        print(f"WARNING             other processes used ~{cpu['other_cpu'] * 100:.0f}% of a CPU during the hold "
              f"({', '.join(cpu['busiest_others']) or 'exited'}): the latency is not the server's alone")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", help="tickwire binary (default $TICKWIRE_BIN or .build/release/tickwire)")
    parser.add_argument("--load-client", type=Path, help="tw-load binary (default .build-loadclient/tw-load)")
    parser.add_argument("--healthy", type=int, default=5)
    parser.add_argument("--stalled", type=int, default=1)
    parser.add_argument("--trades-per-s", type=float, default=5000.0)
    parser.add_argument("--hold-s", type=float, default=25.0)
    parser.add_argument("--warmup-s", type=float, default=1.0)
    parser.add_argument("--slow-consumer-timeout", default="3s")
    parser.add_argument("--server-cpu", type=int, help="pin the server to this CPU and tw-load to another")
    parser.add_argument("--realtime", action="store_true",
                        help="server and tw-load at SCHED_RR 1, so that other load on a shared machine waits")
    parser.add_argument("--wait-quiet-s", type=float, default=60)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
