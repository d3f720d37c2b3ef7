"""One scenario against one server: start it pinned, offer the load with
tw-load pinned to another CPU, hold, meter, stop. Every phase has a deadline.

The result is one flat dict (the JSON line and the table's row). A run that
could not be measured says why in `failed` (or `skipped`, for a server that
refused its flags or is not built)."""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(REPO_ROOT / "bench" / "load"))

import fanout_soak  # noqa: E402
import harness  # noqa: E402
import meter  # noqa: E402
import tw_load  # noqa: E402
from scenarios import Scenario  # noqa: E402
from servers import Server  # noqa: E402

REPLAY = harness.TRADES_FIXTURE
# tw-load takes at most 4096 connections: larger scenarios split over processes.
CONNECTIONS_PER_CLIENT = 4000
# Exit code of a server that refused its command line (tickwire's EX_USAGE).
USAGE_EXIT = 64


def raise_fd_limit() -> None:
    """Soft NOFILE to the hard limit, inherited by the server and tw-load:
    the capacity scenario holds 10,000 sockets on each side."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def client_shares(scenario: Scenario) -> list[tuple[int, int]]:
    """(connections, streams) per tw-load process."""
    processes = max(1, math.ceil(scenario.connections / CONNECTIONS_PER_CLIENT))
    out = []
    for p in range(processes):
        connections = scenario.connections // processes + (p < scenario.connections % processes)
        streams = scenario.streams // processes + (p < scenario.streams % processes)
        out.append((connections, streams))
    return out


def placement(cpu: int, realtime: bool, spins: bool = False) -> list[str]:
    """The command prefix that pins a server to `cpu`, and with `realtime` runs
    it (every thread it will start) at SCHED_RR 1 so that other load on a
    shared machine waits for it. Applied to every server alike, except one
    that spins (tickwire --busy-poll): real-time throttling would stop it for
    50 ms a second, so it gets nice -20 instead, as a spinning tw-load does."""
    if realtime and spins:
        return ["nice", "-n", "-20", "taskset", "-c", str(cpu)]
    return (["chrt", "--rr", "1"] if realtime else []) + ["taskset", "-c", str(cpu)]


def client_prefix(scenario: Scenario, realtime: bool) -> list[str]:
    """tw-load's priority: SCHED_RR 1 like the server, except when it spins,
    where the kernel's real-time throttling (95 % of each second) would stop
    it for 50 ms a second; a spinning client gets nice -20 instead."""
    if not realtime:
        return []
    return ["nice", "-n", "-20"] if scenario.busy_poll else ["chrt", "--rr", "1"]


def run(server: Server, scenario: Scenario, server_cpu: int, client_cpu: int, load_client: Path,
        wait_quiet_s: float, workdir: Path, realtime: bool = False) -> dict:
    result = {"server": server.name, "scenario": scenario.name, "streams": scenario.streams,
              "realtime": realtime, "client_busy_poll": scenario.busy_poll,
              "connections": scenario.connections, "offered_trades_per_s": scenario.trades_per_s,
              "indicators": scenario.indicators, "hold_s": scenario.hold_s}
    reason = server.unavailable()
    if reason:
        return {**result, "skipped": reason}
    busy = meter.wait_for_quiet_machine(wait_quiet_s)
    result["busy_before_start"] = round(busy, 3)
    log_path = workdir / f"{server.name}-{scenario.name}.log"
    proc = harness.TickwireServer(server.argv(scenario, REPLAY), harness.server_env(), log_path,
                                  wrapper=placement(server_cpu, realtime, server.spins))
    clients: list[subprocess.Popen] = []
    try:
        try:
            proc.wait_listening(timeout_s=20)
        except AssertionError:
            try:
                rc = proc.proc.wait(5)  # a refused command line exits at once; reap it for its code
            except subprocess.TimeoutExpired:
                rc = None
            tail = " | ".join(proc.log.snapshot()[-3:]).strip()
            key = "skipped" if rc == USAGE_EXIT else "failed"
            return {**result, key: f"server did not start (exit {rc}): {tail[:300]}"}
        time.sleep(0.5)  # let startup allocation settle before the idle figure
        result["rss_idle_kib"] = meter.rss_kib(proc.proc.pid)
        measure(proc, scenario, client_cpu, load_client, workdir, clients, result, realtime)
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(5)
        try:
            proc.stop(timeout_s=10)
        except AssertionError as error:
            result.setdefault("notes", []).append(f"server stop: {str(error)[:200]}")
        proc.kill()
    return result


def measure(proc, scenario: Scenario, client_cpu: int, load_client: Path, workdir: Path,
            clients: list[subprocess.Popen], result: dict, realtime: bool = False) -> None:
    warmup_s = 1.0
    open_timeout_s = 30 + scenario.connections / 100  # 10,000 handshakes take a while on a busy box
    reports = [workdir / f"tw-load-{n}.json" for n in range(len(client_shares(scenario)))]
    for path, (connections, streams) in zip(reports, client_shares(scenario)):
        clients.append(tw_load.spawn(load_client, proc.target, connections=connections, streams=streams,
                                     indicators=scenario.indicators, candle_interval=scenario.candle_interval,
                                     duration_s=open_timeout_s + warmup_s + scenario.hold_s + 30,
                                     json_path=path, sample_every=scenario.sample_every, cpu=client_cpu,
                                     warmup_s=warmup_s, busy_poll=scenario.busy_poll,
                                     prefix=client_prefix(scenario, realtime)))
    ready_by = time.monotonic() + open_timeout_s
    for c in clients:
        try:
            fanout_soak.read_json_line(c, "ready", max(1.0, ready_by - time.monotonic()))
        except (AssertionError, RuntimeError, ValueError) as error:
            result["failed"] = f"tw-load not ready: {str(error)[:300]}"
            return
    try:
        # A server may still be registering streams after tw-load saw them answered.
        proc.log.wait_for(r"replay starting", 15 + scenario.streams / 500)
    except AssertionError:
        result["failed"] = f"the replay did not start within {15 + scenario.streams / 500:.0f} s of every stream opening"
        return
    sampler = meter.RssSampler(proc.proc.pid)
    sampler.sleep(warmup_s + 0.2)
    hold = meter.HoldMeter(proc.proc.pid, [c.pid for c in clients])
    sampler.sleep(scenario.hold_s)
    cpu = hold.read()
    result["rss_loaded_kib"] = max(sampler.peak_kib, meter.rss_kib(proc.proc.pid) or 0)
    loads = []
    for c, path in zip(clients, reports):
        try:
            loads.append(tw_load.stop(c, path, timeout_s=30)[0])
        except (RuntimeError, ValueError, subprocess.TimeoutExpired, OSError) as error:
            result["failed"] = f"tw-load: {str(error)[:300]}"
            return
    result.update(summarise(loads, cpu, result))


def summarise(loads: list[dict], cpu: dict, result: dict) -> dict:
    """The run's figures from the tw-load reports (summed; latency percentiles
    are the worst over the processes when there are several) and the meter."""
    window_s = max(l["window_s"] for l in loads)
    count = sum(sum(v for k, v in l["window"].items()) for l in loads)
    prices = sum(l["window"]["prices"] for l in loads)
    bytes_window = sum(l["bytes_window"] for l in loads)
    latency = {k: max(l["latency_us"][k] for l in loads) for k in ("p50", "p90", "p99", "p999", "max")}
    msgs_per_s = count / window_s if window_s > 0 else 0.0
    delta_rss = (result["rss_loaded_kib"] or 0) - (result.get("rss_idle_kib") or 0)
    per_stream = [l["per_stream"] for l in loads]
    out = {
        "count": count, "prices": prices, "total_s": round(window_s, 3),
        "msgs_per_s": round(msgs_per_s), "mb_per_s": round(bytes_window / window_s / 1e6, 2) if window_s else 0.0,
        "trades_per_s_delivered": round(prices / window_s / result["streams"], 1) if window_s else 0.0,
        "latency_ms": {k: round(v / 1000, 3) for k, v in latency.items()},
        "latency_samples": sum(l["latency_us"]["samples"] for l in loads),
        "server_cpu_share": round(cpu["server_cpu"], 3),
        "server_wait_share": round(cpu["server_wait"], 3),
        "cpu_ns_per_msg": round(cpu["server_cpu"] * 1e9 / msgs_per_s, 1) if msgs_per_s else None,
        "kib_per_stream": round(delta_rss / result["streams"], 2),
        "kib_per_connection": round(delta_rss / result["connections"], 2),
        "prices_per_stream_min": min(p["prices_min"] for p in per_stream),
        "prices_per_stream_max": max(p["prices_max"] for p in per_stream),
        "statuses_not_ok": sum(l["total"]["statuses_not_ok"] for l in loads),
        "errors": sum(l["errors"] for l in loads) + sum(l["malformed"] for l in loads),
        "client_cpu_share": round(sum(l["cpu"]["window_share_of_core"] for l in loads), 3),
        "others_cpu_share": round(cpu["other_cpu"], 3),
        "busiest_others": cpu["busiest_others"],
    }
    return out
