#!/usr/bin/env python3
"""Shutdown timing: how long tickwire takes from SIGTERM to exit, per case.

Runs each case --runs times (default 5) with --drain-timeout 5s and prints the
median signal-to-exit time per case:

- all clients reading: 20 grpcio readers on a paced replay; the drain runs to
  its deadline, so expect ~drain + a few ms of stop flush;
- one stalled client: the same plus a raw HTTP/2 stream that never reads, so
  the stop flush runs to its 500 ms budget: expect ~drain + 0.5 s;
- all cancel: every reader cancels as soon as it has its ShutdownNotice, so
  the drain ends early: expect a small fraction of the drain.

The bound the server promises is drain + 1 s for every case. The scenario is
the one Tests/Integration/test_shutdown.py asserts on (run_shutdown there);
this script only times it. Each run takes about 10 s; the whole script about
2 minutes with the defaults.

    TICKWIRE_BIN=/tmp/tw-shutdown/tickwire .venv/bin/python bench/load/shutdown_timing.py
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))

import harness  # noqa: E402
import test_shutdown as shutdown  # noqa: E402  (the scenario driver lives with its tests)

CASES = {
    "all clients reading": dict(),
    "one stalled client": dict(stalled_reader=True),
    "all cancel": dict(cancel_after_notice=True),
}


class Resources:
    """What the pytest fixtures give run_shutdown, with the same cleanup."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self.servers: list[harness.TickwireServer] = []
        self.channels = []
        self.collectors: list[harness.StreamCollector] = []

    def start_server(self, **kwargs) -> harness.TickwireServer:
        log_path = self._log_dir / f"tickwire-{len(self.servers)}.stderr.log"
        server = harness.TickwireServer(harness.server_argv(**kwargs), harness.server_env(), log_path)
        self.servers.append(server)
        server.wait_listening()
        return server

    def make_channel(self, target: str):
        chan = harness.channel(target)
        self.channels.append(chan)
        return chan

    def make_collector(self, chan, **kwargs) -> harness.StreamCollector:
        collector = harness.StreamCollector(chan, **kwargs)
        self.collectors.append(collector)
        return collector

    def close(self) -> None:
        for collector in self.collectors:
            collector.cancel(join_s=3)
        for chan in self.channels:
            chan.close()
        for server in self.servers:
            server.kill()


@dataclasses.dataclass
class Run:
    signal_to_exit_s: float | None
    returncode: int | None
    cancel_to_exit_s: float | None = None
    error: str | None = None


def run_once(case: str, drain_arg: str, drain_s: float, log_dir: Path) -> Run:
    plan = shutdown.Plan(drain_arg=drain_arg, drain_s=drain_s, log_level="info", **CASES[case])
    resources = Resources(log_dir)
    try:
        outcome = shutdown.run_shutdown(plan, resources.start_server, resources.make_channel,
                                        resources.make_collector)
    except AssertionError as error:  # the scenario could not be set up
        return Run(None, None, error=str(error).splitlines()[0])
    finally:
        resources.close()
    cancel_to_exit = None
    if outcome.cancelled_at and outcome.exit_at:
        cancel_to_exit = outcome.exit_at.mono - outcome.cancelled_at.mono
    return Run(outcome.signal_to_exit_s, outcome.returncode, cancel_to_exit,
               None if outcome.notices_by_all else "not every reader got its notice")


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--drain-timeout", default="5s", help="passed to tickwire (Go duration in s)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of the cases")
    args = parser.parse_args()
    assert args.drain_timeout.endswith("s") and not args.drain_timeout.endswith("ms"), \
        "give --drain-timeout in whole or fractional seconds, e.g. 5s"
    drain_s = float(args.drain_timeout[:-1])
    cases = [c.strip() for c in args.cases.split(",")]
    unknown = [c for c in cases if c not in CASES]
    assert not unknown, f"unknown cases {unknown}; known: {list(CASES)}"

    harness.ensure_stubs()
    print(f"tickwire: {harness.tickwire_binary()}  drain: {args.drain_timeout}  runs: {args.runs}  "
          f"readers: {shutdown.READERS}  replay speed: {shutdown.PACED_SPEED}x", flush=True)
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="shutdown-timing-") as tmp:
        for case in cases:
            results[case] = []
            for i in range(args.runs):
                run = run_once(case, args.drain_timeout, drain_s, Path(tmp))
                results[case].append(run)
                extra = f" cancel->exit {fmt_s(run.cancel_to_exit_s)} s" if run.cancel_to_exit_s else ""
                print(f"  {case:20s} run {i + 1}: signal->exit {fmt_s(run.signal_to_exit_s)} s "
                      f"exit code {run.returncode}{extra}{'  ' + run.error if run.error else ''}", flush=True)

    bound_s = drain_s + 1.0
    print(f"\n{'case':20s} {'median s':>9s} {'min s':>7s} {'max s':>7s}  exit codes  (bound {bound_s:.1f} s)")
    worst = 0
    for case, runs in results.items():
        times = [r.signal_to_exit_s for r in runs if r.signal_to_exit_s is not None]
        median = statistics.median(times) if times else None
        codes = sorted({r.returncode for r in runs}, key=str)
        line = (f"{case:20s} {fmt_s(median):>9s} {fmt_s(min(times) if times else None):>7s} "
                f"{fmt_s(max(times) if times else None):>7s}  {codes}")
        cancels = [r.cancel_to_exit_s for r in runs if r.cancel_to_exit_s is not None]
        if cancels:
            line += f"  (median last cancel->exit {statistics.median(cancels):.3f} s)"
        print(line)
        if len(times) < len(runs) or codes != [0] or (times and max(times) > bound_s):
            worst = 1
    return worst


if __name__ == "__main__":
    sys.exit(main())
