"""Issue 8's figure: fan-out with `--workers 1` and `--workers 2`, same run.

For each worker count: start the server on a looped fixed-rate replay (every
worker replays it for its own streams, so each stream is offered the same
trades/s whatever the count), open N streams over C connections with
tw-load, hold, and report what tw-load received (messages/s, ingest ->
receipt p99) with the server group's CPU (supervisor + workers, from /proc)
and tw-load's own.

    .venv/bin/python bench/load/workers_fanout.py --bin .build/release/tickwire \\
        --streams 1000 --connections 100 --trades-per-s 2000 --hold-s 20

On a two-core machine tw-load competes with the workers for the cores; the
report says how much CPU each side used, so read the figures with that.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(HERE))

import fanout_soak  # noqa: E402
import harness  # noqa: E402
import indicator_soak  # noqa: E402
import tw_load  # noqa: E402


def group_pids(supervisor: int) -> list[int]:
    """The supervisor and its children (the workers), from /proc."""
    pids = [supervisor]
    try:
        for task in Path(f"/proc/{supervisor}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return pids


def group_cpu_s(pids: list[int]) -> float:
    return sum(fanout_soak.cpu_seconds(pid) for pid in pids)


def run_one(args, binary: Path, load_client: Path, workers: int, tmp: Path) -> dict:
    argv = [str(binary), "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--symbols", harness.SYMBOLS,
            "--replay", str(harness.TRADES_FIXTURE), "--replay-rate", f"{args.trades_per_s:g}", "--replay-loop",
            "--log-level", "info", "--max-connections", str(args.connections + 10), "--workers", str(workers)]
    server = harness.TickwireServer(argv, harness.server_env(), tmp / f"server-{workers}.log")
    proc = None
    try:
        _, line = server.log.wait_for(r"\bworkers=\d+\b.*\blistening\"?\s*$" if workers > 1 else harness.LISTENING_RE,
                                      harness.STARTUP_TIMEOUT_S)
        server.port = int(harness.LISTENING_RE.search(line).group("port")) if workers == 1 else \
            int(harness.metadata_str(line, "address").rsplit(":", 1)[1])
        report_path = tmp / f"tw-load-{workers}.json"
        proc = tw_load.spawn(load_client, server.target, connections=args.connections, streams=args.streams,
                             indicators=0, duration_s=args.hold_s + args.warmup_s + 30, json_path=report_path,
                             sample_every=args.sample_every, warmup_s=args.warmup_s)
        fanout_soak.read_json_line(proc, "ready", 30)
        time.sleep(args.warmup_s)
        pids = group_pids(server.proc.pid)
        server0, client0, box0 = group_cpu_s(pids), fanout_soak.cpu_seconds(proc.pid), indicator_soak.box_cpu_s()[0]
        started = time.monotonic()
        time.sleep(args.hold_s)
        span = time.monotonic() - started
        server_cpu = (group_cpu_s(pids) - server0) / span
        client_cpu = (fanout_soak.cpu_seconds(proc.pid) - client0) / span
        box = (indicator_soak.box_cpu_s()[0] - box0) / span
        load, _ = tw_load.stop(proc, report_path)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        server.stop(timeout_s=20)
    # Each worker's `stopped` line: trades it published and trades conflated
    # for streams that fell behind (the slow-consumer policy), whole run.
    stopped = server.log.matching(harness.STOPPED_RE)
    conflated = sum(harness.metadata_int(line, "conflated_trades") for line in stopped)
    return {"conflated": conflated, "workers": workers, "processes": len(pids), "msgs_per_s": load["msgs_per_s"],
            "p50_ms": load["latency_us"]["p50"] / 1e3, "p99_ms": load["latency_us"]["p99"] / 1e3,
            "p999_ms": load["latency_us"]["p999"] / 1e3, "server_cpu": server_cpu, "client_cpu": client_cpu,
            "box_cpu": box,
            "offered": args.streams * args.trades_per_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", help="tickwire binary (default .build/release/tickwire)")
    parser.add_argument("--load-client", type=Path, help="tw-load binary (default: built from bench/loadclient)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, comma-separated")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--trades-per-s", type=float, default=2000)
    parser.add_argument("--hold-s", type=float, default=20)
    parser.add_argument("--warmup-s", type=float, default=3)
    parser.add_argument("--sample-every", type=int, default=100)
    parser.add_argument("--wait-quiet-s", type=float, default=30)
    args = parser.parse_args()
    binary = Path(args.bin or os.environ.get("TICKWIRE_BIN") or REPO_ROOT / ".build/release/tickwire").resolve()
    if not binary.exists():
        print(f"no binary at {binary}: swift build -c release --product tickwire", file=sys.stderr)
        return 2
    load_client = tw_load.ensure_built(args.load_client)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tickwire-workers-") as tmp:
        for workers in (int(w) for w in args.workers.split(",")):
            busy = indicator_soak.wait_for_quiet_machine(args.wait_quiet_s)
            print(f"workers={workers}: machine busy {busy * 100:.0f}% of one CPU before the start", flush=True)
            rows.append(run_one(args, binary, load_client, workers, Path(tmp)))
            print(rows[-1], flush=True)
    print(f"\n{args.streams} streams over {args.connections} connections, {args.trades_per_s:g} trades/s per "
          f"worker's replay (offered {args.streams * args.trades_per_s:,.0f} msgs/s), hold {args.hold_s:g}s, "
          f"{os.cpu_count()} CPUs")
    print("workers  delivered msgs/s  p50 ms  p99 ms  p99.9 ms  server CPU  tw-load CPU  machine busy  conflated")
    for r in rows:
        print(f"{r['workers']:>7}  {r['msgs_per_s']:>16,.0f}  {r['p50_ms']:>6.2f}  {r['p99_ms']:>6.2f}  "
              f"{r['p999_ms']:>8.2f}  {r['server_cpu'] * 100:>9.0f}%  {r['client_cpu'] * 100:>10.0f}%  "
              f"{r['box_cpu'] * 100:>11.0f}%  {r['conflated']:>9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
