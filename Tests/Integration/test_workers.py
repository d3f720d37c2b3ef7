"""`--workers N`: N server processes behind one supervisor, one port (SO_REUSEPORT).

Contract under test:
1. `--workers 2 --listen 127.0.0.1:0`: the supervisor resolves the port once;
   both workers log `listening` on it, then the supervisor logs one
   `listening address=HOST:PORT workers=2` line. The kernel spreads new
   connections over both workers (each logs `connection accepted` with
   `worker=i`); each worker replays the file itself, so every stream, on
   either worker, gets every trade exactly and in order.
2. SIGTERM to the supervisor is forwarded: every worker drains its streams
   (ShutdownNotice, then UNAVAILABLE) and exits 0; the supervisor exits 0
   within the drain + stop flush + margin.
3. A worker killed with SIGKILL is logged with its signal and restarted; the
   streams on the other worker go on without a gap, and the restarted worker
   serves new connections.
4. `--workers 0`, `--workers abc` (and TICKWIRE_WORKERS=abc) are refused.

Which worker a connection lands on is the kernel's hash of the 4-tuple, so the
tests connect one channel at a time and read the worker from the log line its
accept produced: that is how they reach an exact number of streams per worker
(--replay-wait-streams counts per worker, each worker holding its own replay).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import grpc
import pytest

import harness

SUPERVISOR_LISTENING_RE = re.compile(
    r"\bmodule=Supervisor\b.*\baddress=(?P<host>\[?[0-9a-fA-F.:]+?\]?):(?P<port>\d+)\b.*\bworkers=(?P<workers>\d+)\b.*\bmsg=\"?listening\"?\s*$")
ACCEPTED_RE = re.compile(r"\bworker=\d+\b.*\bconnection accepted\"?\s*$")
WORKER_STARTED_RE = re.compile(r"\bmodule=Supervisor\b.*\bmsg=\"?worker started\"?\s*$")
WORKER_LISTENING_RE = re.compile(r"\bmodule=Supervisor\b.*\bmsg=\"?worker listening\"?\s*$")
WORKER_EXITED_RE = re.compile(r"\bmodule=Supervisor\b.*\bmsg=\"?worker exited\"?\s*$")
WORKER_DIED_RE = re.compile(r"\bmodule=Supervisor\b.*\bmsg=\"?worker exited unexpectedly\"?\s*$")
WORKER_RESTARTING_RE = re.compile(r"\bmodule=Supervisor\b.*\bmsg=\"?worker restarting\"?\s*$")
SUPERVISOR_STOPPED_RE = re.compile(r"\bmodule=Supervisor\b.*\bmsg=\"?supervisor stopped\"?\s*$")

WORKERS = 2
STREAMS_PER_WORKER = 10
# Trades replayed per worker in the exactness test: 20 grpcio readers in one
# Python process on two shared cores keep up with a few thousand messages/s.
SLICE_TRADES = 2000
# Connections tried before giving up on reaching the wanted split: each lands
# on either worker with probability ~1/2, so 200 tries cannot plausibly fail.
MAX_CONNECT_ATTEMPTS = 200
FANOUT_TIMEOUT_S = 60.0
DRAIN_ARG, DRAIN_S = "2s", 2.0
STOP_FLUSH_S = 0.5
EXIT_MARGIN_S = 2.0


def start_workers(start_server, replay, speed: str, wait_streams: int, extra=()) -> harness.TickwireServer:
    """Starts `--workers 2` and waits for the supervisor's own `listening` line
    (a worker's comes earlier, when its sibling may not listen yet)."""
    # debug: the tests read `connection accepted`, a debug line.
    argv = harness.server_argv(replay, speed=speed, wait_streams=wait_streams, log_level="debug",
                               extra=["--workers", str(WORKERS), *extra])
    server = start_server(argv=argv, wait_listening=False)
    _, line = server.log.wait_for(SUPERVISOR_LISTENING_RE, harness.STARTUP_TIMEOUT_S)
    match = SUPERVISOR_LISTENING_RE.search(line)
    assert int(match.group("workers")) == WORKERS, line
    server.port = int(match.group("port"))
    listening = server.log.matching(harness.LISTENING_RE)
    ports = {int(harness.LISTENING_RE.search(l).group("port")) for l in listening}
    assert ports == {server.port}, f"workers and supervisor disagree on the port: {listening}"
    return server


def worker_pids(server) -> dict[int, int]:
    """index → pid of the latest `worker started` line for each worker."""
    pids = {}
    for line in server.log.matching(WORKER_STARTED_RE):
        pids[harness.metadata_int(line, "index")] = harness.metadata_int(line, "pid")
    return pids


def connect_until(server, grpc_channels, wanted: dict[int, int]) -> list[tuple[object, int]]:
    """Opens channels one at a time until each worker index in `wanted` holds
    that many; a channel that lands on a worker already served is closed.
    Returns [(channel, worker)]."""
    kept: list[tuple[object, int]] = []
    have = {worker: 0 for worker in wanted}
    for _ in range(MAX_CONNECT_ATTEMPTS):
        if have == wanted:
            return kept
        mark = server.log.count()
        chan = grpc_channels(server.target)
        harness.wait_channel_ready(chan, timeout_s=10.0)
        _, line = server.log.wait_for(ACCEPTED_RE, 10.0, since=mark)
        worker = harness.metadata_int(line, "worker")
        if worker in have and have[worker] < wanted[worker]:
            have[worker] += 1
            kept.append((chan, worker))
        else:
            chan.close()
    raise AssertionError(f"after {MAX_CONNECT_ATTEMPTS} connections the workers hold {have}, wanted {wanted}")


def prices_of(collector) -> list[harness.Trade]:
    return [harness.trade_from_update(item.response.price) for item in collector.prices()]


def assert_ids_contiguous(collector) -> None:
    """Per symbol, every trade id is the previous + 1 (the fixture's ids are
    contiguous per symbol, and --replay-loop keeps them so across passes)."""
    last: dict[str, int] = {}
    for trade in prices_of(collector):
        previous = last.get(trade.symbol)
        assert previous is None or trade.trade_id == previous + 1, (
            f"{collector.name}: {trade.symbol} trade id {trade.trade_id} after {previous}")
        last[trade.symbol] = trade.trade_id


def test_connections_spread_over_both_workers_and_every_stream_gets_every_trade(
        start_server, grpc_channels, collectors, expected_trades, tmp_path):
    lines = harness.TRADES_FIXTURE.read_text().splitlines()[:SLICE_TRADES]
    replay = tmp_path / "slice.jsonl"
    replay.write_text("\n".join(lines) + "\n")
    expected = expected_trades[:SLICE_TRADES]

    server = start_workers(start_server, replay, speed="max", wait_streams=STREAMS_PER_WORKER)
    metrics = {harness.metadata_int(l, "worker"): int(harness.METRICS_LISTENING_RE.search(l).group("port"))
               for l in server.log.matching(harness.METRICS_LISTENING_RE)}
    assert sorted(metrics) == [0, 1] and metrics[0] != metrics[1], f"metrics ports per worker: {metrics}"

    channels = connect_until(server, grpc_channels, {w: STREAMS_PER_WORKER for w in range(WORKERS)})
    streams = [(collectors(chan, name=f"w{worker}-c{i}", deadline_s=FANOUT_TIMEOUT_S + 30).start(), worker)
               for i, (chan, worker) in enumerate(channels)]
    deadline = time.monotonic() + FANOUT_TIMEOUT_S
    for collector, _ in streams:
        assert collector.wait_count(SLICE_TRADES, max(0.0, deadline - time.monotonic())), (
            f"{collector.name}: {collector.count()} of {SLICE_TRADES}; {collector.describe_end()}; "
            f"counts {[c.count() for c, _ in streams]}\n{server.log.tail()}")

    assert harness.wait_until(lambda: len(server.log.matching(harness.REPLAY_FINISHED_RE)) == WORKERS, 15.0), \
        server.log.tail()
    finished = server.log.matching(harness.REPLAY_FINISHED_RE)
    assert sorted(harness.metadata_int(l, "worker") for l in finished) == list(range(WORKERS)), finished
    assert all(harness.metadata_int(l, "published") == SLICE_TRADES for l in finished), finished
    time.sleep(0.5)  # anything extra would arrive now
    for collector, worker in streams:
        assert not collector.non_prices(), f"{collector.name}: {collector.non_prices()[:3]}"
        got = prices_of(collector)
        assert got == expected, f"{collector.name} (worker {worker}): {harness.first_difference(got, expected)}"
    accepted = server.log.matching(ACCEPTED_RE)
    per_worker = {w: sum(1 for l in accepted if harness.metadata_int(l, "worker") == w) for w in range(WORKERS)}
    assert all(n >= STREAMS_PER_WORKER for n in per_worker.values()), per_worker


def test_sigterm_drains_every_worker_and_the_group_exits_zero(start_server, grpc_channels, collectors):
    server = start_workers(start_server, harness.TRADES_FIXTURE, speed="5", wait_streams=0,
                           extra=["--drain-timeout", DRAIN_ARG])
    channels = connect_until(server, grpc_channels, {0: 2, 1: 2})
    streams = [(harness.open_registered_stream(chan, make_collector=collectors, name=f"w{w}-c{i}"), w)
               for i, (chan, w) in enumerate(channels)]
    assert harness.wait_until(lambda: all(len(c.prices()) >= 5 for c, _ in streams), 20.0), \
        [c.count() for c, _ in streams]

    signalled = time.monotonic()
    rc = server.stop(signal.SIGTERM, timeout_s=DRAIN_S + STOP_FLUSH_S + EXIT_MARGIN_S + 5)
    took = time.monotonic() - signalled
    assert rc == 0, f"supervisor exit code {rc}\n{server.log.tail(40)}"
    assert took <= DRAIN_S + STOP_FLUSH_S + EXIT_MARGIN_S, f"the group took {took:.2f}s to exit"
    for collector, worker in streams:
        assert harness.wait_until(lambda: collector.finished, 5.0), collector.name
        kinds = [r.WhichOneof("payload") for r in collector.non_prices()]
        assert "shutdown" in kinds, f"{collector.name} (worker {worker}) got no ShutdownNotice: {kinds}"
        assert collector.error is not None and collector.error.code() == grpc.StatusCode.UNAVAILABLE, (
            f"{collector.name}: {collector.describe_end()}")
        assert_ids_contiguous(collector)
    exits = server.log.matching(WORKER_EXITED_RE)
    assert sorted(harness.metadata_int(l, "index") for l in exits) == [0, 1], exits
    assert all(harness.metadata_int(l, "exit_code") == 0 for l in exits), exits
    drained = server.log.matching(r"\bworker=\d+\b.*\bdraining\"?\s*$")
    assert sorted(harness.metadata_int(l, "worker") for l in drained) == [0, 1], drained
    _, line = server.log.wait_for(SUPERVISOR_STOPPED_RE, 1.0)
    assert harness.metadata_int(line, "exit_code") == 0, line


def test_a_killed_worker_is_restarted_and_the_other_workers_streams_go_on(
        start_server, grpc_channels, collectors):
    server = start_workers(start_server, harness.TRADES_FIXTURE, speed="5", wait_streams=0,
                           extra=["--replay-loop"])
    channels = connect_until(server, grpc_channels, {0: 2, 1: 2})
    streams = [(harness.open_registered_stream(chan, make_collector=collectors, name=f"w{w}-c{i}"), w)
               for i, (chan, w) in enumerate(channels)]
    assert harness.wait_until(lambda: all(len(c.prices()) >= 5 for c, _ in streams), 20.0), \
        [c.count() for c, _ in streams]
    victim = worker_pids(server)[0]
    mark = server.log.count()
    counts_at_kill = {c.name: len(c.prices()) for c, _ in streams}
    os.kill(victim, signal.SIGKILL)

    _, died = server.log.wait_for(WORKER_DIED_RE, 5.0, since=mark)
    assert harness.metadata_int(died, "index") == 0 and harness.metadata_int(died, "pid") == victim, died
    assert harness.metadata_int(died, "signal") == signal.SIGKILL, died
    _, restarting = server.log.wait_for(WORKER_RESTARTING_RE, 5.0, since=mark)
    assert harness.metadata_int(restarting, "index") == 0, restarting
    _, listening = server.log.wait_for(WORKER_LISTENING_RE, harness.STARTUP_TIMEOUT_S, since=mark)
    assert harness.metadata_int(listening, "index") == 0, listening
    assert harness.metadata_int(listening, "pid") != victim, listening

    survivors = [c for c, w in streams if w == 1]
    orphans = [c for c, w in streams if w == 0]
    # The survivors keep receiving (5x pace: ~230 trades/s) with no gap.
    assert harness.wait_until(lambda: all(len(c.prices()) >= counts_at_kill[c.name] + 200 for c in survivors),
                              20.0), [(c.name, c.count(), counts_at_kill[c.name]) for c in survivors]
    for collector in survivors:
        assert not collector.finished, f"{collector.name}: {collector.describe_end()}"
        assert_ids_contiguous(collector)
    for collector in orphans:
        assert harness.wait_until(lambda: collector.finished, 10.0), f"{collector.name} still open"
        assert collector.error is not None, collector.describe_end()

    # The restarted worker 0 serves: a new connection that lands on it gets prices.
    fresh = connect_until(server, grpc_channels, {0: 1})
    newcomer = harness.open_registered_stream(fresh[0][0], make_collector=collectors, name="w0-new")
    assert newcomer.wait_count(20, 20.0), newcomer.describe_end()
    assert_ids_contiguous(newcomer)
    assert server.stop(signal.SIGTERM, timeout_s=15.0) == 0, server.log.tail(30)


@pytest.mark.parametrize("args,env,name", [
    (["--workers", "0"], {}, "--workers"),
    (["--workers", "abc"], {}, "--workers"),
    (["--workers=-3"], {}, "--workers"),
    ([], {"TICKWIRE_WORKERS": "abc"}, "TICKWIRE_WORKERS"),  # the variable, as the operator wrote it
])
def test_bad_worker_counts_are_refused(binary, args, env, name):
    out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--listen", "127.0.0.1:0",
                          "--metrics-listen", "off", *args],
                         capture_output=True, text=True, timeout=30, env=harness.server_env(env))
    assert out.returncode != 0, out.stderr
    assert name in out.stderr and "must be a number from 1 to 256 or 'auto'" in out.stderr, out.stderr
