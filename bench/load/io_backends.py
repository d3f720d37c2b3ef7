"""epoll against io_uring (--io), side by side: server CPU per delivered
message and system calls per loop iteration.

    .venv/bin/python bench/load/io_backends.py --bin .build/release/tickwire --rounds 3

Each round runs the same load once per backend, alternating which goes first,
so that drift in the shared machine's load falls on both. A run: the trades
fixture replayed at --trades-per-s (looped), tw-load reading every message of
--streams streams over --connections connections, the server's CPU metered
over --hold-s, then (with --strace-s) `strace -c -f` attached for a few
seconds to count the server's system calls by name; the loop's iterations
come from /metrics over the same spans. strace slows the server, so its
window gives counts per iteration, not CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(REPO_ROOT / "bench" / "load"))

import fanout_soak  # noqa: E402
import harness  # noqa: E402
import indicator_soak  # noqa: E402
import tw_load  # noqa: E402

BACKENDS = ("epoll", "io_uring")
ITERATIONS_RE = re.compile(r"^\S*reactor_loop_iterations_total(?:\{[^}]*\})?\s+([0-9.e+]+)\s*$", re.M)
STRACE_ROW_RE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(?P<calls>\d+)\s+(?:\d+\s+)?(?P<name>\w+)\s*$")


def loop_iterations(server: harness.TickwireServer) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = ITERATIONS_RE.search(text)
    assert match, "no reactor_loop_iterations_total in /metrics"
    return float(match.group(1))


def count_syscalls(pid: int, seconds: float, out: Path) -> dict[str, int]:
    """strace -c -f on `pid` for `seconds`: calls by syscall name."""
    proc = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", str(out), "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    proc.wait(15)
    calls = {}
    for line in out.read_text().splitlines():
        match = STRACE_ROW_RE.match(line)
        if match and match.group("name") != "total":
            calls[match.group("name")] = int(match.group("calls"))
    return calls


def one_run(args, backend: str, binary: Path, load_client: Path, tmp: Path) -> dict:
    argv = harness.server_argv(harness.TRADES_FIXTURE, wait_streams=args.streams, log_level="info",
                               extra=["--io", backend, "--replay-rate", str(args.trades_per_s), "--replay-loop"])
    at = argv.index("--replay-speed")
    del argv[at:at + 2]  # --replay-rate sets the pace instead
    server = harness.TickwireServer(argv, harness.server_env(), tmp / f"{backend}.log")
    proc = None
    try:
        server.wait_listening()
        server.wait_metrics_listening()
        listening = server.log.matching(harness.LISTENING_RE)[0]
        assert harness.metadata_str(listening, "io") == backend, listening
        report_path = tmp / f"{backend}.json"
        proc = tw_load.spawn(load_client, server.target, connections=args.connections, streams=args.streams,
                             indicators=0, duration_s=args.hold_s + args.strace_s + 40, json_path=report_path,
                             sample_every=100, warmup_s=0)
        fanout_soak.read_json_line(proc, "ready", 30)
        server.log.wait_for(r"replay starting", 20)
        time.sleep(args.warmup_s)
        iterations0 = loop_iterations(server)
        meter = indicator_soak.HoldMeter(server.proc.pid, [proc.pid])
        held_at = time.monotonic()
        time.sleep(args.hold_s)
        cpu = meter.read()
        iterations1 = loop_iterations(server)
        hold_s = time.monotonic() - held_at
        calls, strace_iterations = {}, 0.0
        if args.strace_s > 0:
            calls = count_syscalls(server.proc.pid, args.strace_s, tmp / f"{backend}.strace")
            strace_iterations = loop_iterations(server) - iterations1
        load, _ = tw_load.stop(proc, report_path)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        server.stop(timeout_s=15)
    messages_per_s = load["window"]["prices"] / load["window_s"]
    return {"backend": backend, "cpu": cpu["server_cpu"], "other": cpu["other_cpu"],
            "msgs_per_s": messages_per_s, "ns_per_msg": cpu["server_cpu"] * 1e9 / max(messages_per_s, 1),
            "iterations_per_s": (iterations1 - iterations0) / hold_s, "calls": calls,
            "strace_iterations": strace_iterations, "errors": load["errors"]}


def describe(run: dict) -> str:
    line = (f"{run['backend']:8} server CPU {run['cpu'] * 100:5.1f}%  {run['msgs_per_s']:9.0f} msgs/s  "
            f"{run['ns_per_msg']:6.0f} ns/msg  {run['iterations_per_s']:7.0f} iterations/s  "
            f"(others {run['other'] * 100:.0f}%, tw-load errors {run['errors']})")
    if run["calls"] and run["strace_iterations"] > 0:
        total = sum(run["calls"].values())
        top = sorted(run["calls"].items(), key=lambda kv: -kv[1])[:5]
        per = ", ".join(f"{name} {n / run['strace_iterations']:.2f}" for name, n in top)
        line += (f"\n         syscalls/iteration {total / run['strace_iterations']:.2f} over "
                 f"{run['strace_iterations']:.0f} iterations: {per}")
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", help="tickwire binary (default $TICKWIRE_BIN or .build/release/tickwire)")
    parser.add_argument("--load-client", type=Path, help="tw-load binary (default: built from bench/loadclient)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--trades-per-s", type=float, default=2000)
    parser.add_argument("--warmup-s", type=float, default=2)
    parser.add_argument("--hold-s", type=float, default=10)
    parser.add_argument("--strace-s", type=float, default=3, help="0 skips the syscall count")
    parser.add_argument("--wait-quiet-s", type=float, default=10)
    args = parser.parse_args()
    binary = Path(args.bin or os.environ.get("TICKWIRE_BIN") or REPO_ROOT / ".build/release/tickwire")
    if not binary.exists():
        print(f"no binary at {binary}: swift build -c release --product tickwire", file=sys.stderr)
        return 2
    os.environ["TICKWIRE_BIN"] = str(binary)
    load_client = tw_load.ensure_built(args.load_client)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="tickwire-io-backends-") as tmp:
        for round_index in range(args.rounds):
            order = BACKENDS if round_index % 2 == 0 else tuple(reversed(BACKENDS))
            for backend in order:
                busy = indicator_soak.wait_for_quiet_machine(args.wait_quiet_s)
                run = one_run(args, backend, binary, load_client, Path(tmp))
                runs.append(run)
                print(f"round {round_index + 1} (busy {busy * 100:.0f}% before): {describe(run)}", flush=True)
    print()
    for backend in BACKENDS:
        mine = [r for r in runs if r["backend"] == backend]
        ns = sorted(r["ns_per_msg"] for r in mine)
        print(f"{backend:8} ns of server CPU per message: median {ns[len(ns) // 2]:.0f} (runs {', '.join(f'{v:.0f}' for v in ns)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
