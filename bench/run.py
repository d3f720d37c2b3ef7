#!/usr/bin/env python3
"""Runs each scenario against each server in turn, on this machine, in one go
(issue 8): tw-load offers the load and reads every message; the server is
pinned to one CPU and tw-load to another. Prints a ghz-style summary and one
JSON line per run, and writes results.md, results.jsonl and the plots to
--out (bench/results/). Before the servers of a scenario whose shape it models
(one stream per connection at a fixed rate: colocated, mid), it runs the
kernel's floor, bench/floor/loopback_floor.c (built with cc -O2; optional),
and shows every server's p50/p99 as a multiple of it (issue 22).

    .venv/bin/python bench/run.py --quick                      # smoke: every scenario, tickwire and grpc-go
    .venv/bin/python bench/run.py --servers tickwire,grpc-go   # the full durations
    .venv/bin/python bench/run.py --scenarios colocated,mid --hold-s 10

Everything listens on 127.0.0.1 only. Every phase has a deadline: a run takes
about its hold plus 5-15 s (plus up to --wait-quiet-s for an idle machine;
capacity opens 10,000 connections first). The machine this was written on is
shared: each run meters other processes' CPU and says when it was not alone.
It exits 1 only when a Tickwire run failed; a peer that cannot carry a load is
a finding, printed at the end and kept in the results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "bench" / "compare"))
sys.path.insert(0, str(REPO_ROOT / "bench" / "load"))

import floor  # noqa: E402
import meter  # noqa: E402
import one_run  # noqa: E402
import report  # noqa: E402
import scenarios  # noqa: E402
import servers  # noqa: E402
import tw_load  # noqa: E402

DEFAULT_SERVERS = "tickwire,tickwire-io_uring,grpc-go,grpc-cpp,grpc-swift-2"


def machine_line() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return f"{os.cpu_count()} CPUs ({model}), kernel {os.uname().release}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default=DEFAULT_SERVERS, help=f"comma-separated (default {DEFAULT_SERVERS})")
    parser.add_argument("--scenarios", help="comma-separated, of " + ",".join(s.name for s in scenarios.FULL))
    parser.add_argument("--quick", action="store_true", help="short holds and capacity at 2,000 connections")
    parser.add_argument("--hold-s", type=float, help="override every scenario's hold")
    parser.add_argument("--server-cpu", type=int, default=1, help="CPU for the server (default 1)")
    parser.add_argument("--client-cpu", type=int, default=0, help="CPU for tw-load (default 0)")
    parser.add_argument("--realtime", action="store_true",
                        help="every server (all its threads) and tw-load at SCHED_RR 1, so that other load on a "
                             "shared machine waits; a spinning tw-load gets nice -20 instead")
    parser.add_argument("--busy-poll", choices=["scenario", "on", "off"], default="scenario",
                        help="tw-load spins on epoll_wait: per scenario (colocated only, default), or on/off for all")
    parser.add_argument("--wait-quiet-s", type=float, default=20, help="wait at most this long for an idle second")
    parser.add_argument("--bin", type=Path, help="tickwire binary (default $TICKWIRE_BIN or .build/release/tickwire)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip bench/floor/loopback_floor.c (by default it runs once per scenario it models)")
    args = parser.parse_args()

    known = servers.all_servers(args.bin)
    chosen = [n.strip() for n in args.servers.split(",") if n.strip()]
    if unknown := [n for n in chosen if n not in known]:
        parser.error(f"unknown server(s) {unknown}; choose from {list(known)}")
    plan = scenarios.scenarios(args.scenarios.split(",") if args.scenarios else None, args.quick, args.hold_s,
                               None if args.busy_poll == "scenario" else args.busy_poll == "on")
    assert args.server_cpu != args.client_cpu, "the server and tw-load need different CPUs"
    if args.quick:
        args.wait_quiet_s = min(args.wait_quiet_s, 5)
    load_client = tw_load.ensure_built()
    one_run.raise_fd_limit()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    priority = "; SCHED_RR 1 (--realtime)" if args.realtime else ""
    print(f"# {started}; {machine_line()}; server on CPU {args.server_cpu}, tw-load on CPU {args.client_cpu}"
          f"{priority}", flush=True)

    floor_binary, floor_status = (None, "skipped (--no-floor)") if args.no_floor else floor.build()
    if floor_binary is None:
        print(f"# loopback floor: {floor_status}; the run goes on without it", flush=True)

    results, floors = [], []
    with tempfile.TemporaryDirectory(prefix="tickwire-bench-") as tmp:
        for scenario in plan:
            scenario_floor = None
            if floor_binary is not None and floor.applies(scenario):
                meter.wait_for_quiet_machine(args.wait_quiet_s)
                scenario_floor = floor.run(floor_binary, scenario, args.server_cpu, args.client_cpu, args.realtime)
                floors.append(scenario_floor)
                print(floor.summary(scenario_floor), flush=True)
                print(report.json_line(scenario_floor), flush=True)
                print(flush=True)
            for name in chosen:
                if scenario.candle_interval and name != "tickwire":
                    continue  # candles are tickwire's own contract
                result = one_run.run(known[name], scenario, args.server_cpu, args.client_cpu, load_client,
                                     args.wait_quiet_s, Path(tmp), args.realtime)
                if multiples := floor.multiples(result, scenario_floor):
                    result["floor_multiple"] = multiples
                    result["floor_latency_ms"] = {k: scenario_floor["latency_ms"][k] for k in ("p50", "p99")}
                results.append(result)
                print(report.summary(result), flush=True)
                print(report.json_line(result), flush=True)
                print(flush=True)

    command = "bench/run.py " + " ".join(sys.argv[1:])
    header = f"Run {started} on {machine_line()}; `{command.strip()}`. Server on CPU {args.server_cpu}, " \
             f"tw-load on CPU {args.client_cpu}{priority}; the machine was shared (see \"others' CPU\").\n\n"
    if floor_binary is not None and not floors:
        floor_status = "no scenario of this run has its shape (one stream per connection at a fixed rate)"
    (args.out / "results.md").write_text(header + report.table(results) + report.floor_section(floors, floor_status))
    (args.out / "results.jsonl").write_text("".join(report.json_line(r) + "\n" for r in results + floors))
    if lines := report.floor_multiples(results):
        print("Latency as a multiple of the loopback floor (same shape, same run):\n" + lines, flush=True)
    if not args.no_plots:
        for path in report.plots(results, args.out):
            print(f"wrote {path}")
    print(f"wrote {args.out / 'results.md'} and results.jsonl")
    return exit_status(results)


def exit_status(results: list[dict]) -> int:
    """1 when a Tickwire run failed. A peer that cannot carry a load (grpc-swift-2
    at 10,000 connections) is a finding of the run, recorded in its results,
    not a failure of the run itself."""
    for result in results:
        if "failed" in result and not result["server"].startswith("tickwire"):
            print(f"finding: {result['server']} failed {result['scenario']}: {result['failed']}", flush=True)
    ours = [r for r in results if "failed" in r and r["server"].startswith("tickwire")]
    for result in ours:
        print(f"FAILED: {result['server']} on {result['scenario']}: {result['failed']}", flush=True)
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
