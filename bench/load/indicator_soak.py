#!/usr/bin/env python3
"""Indicator soak: 1000 streams x 10 indicators at ~2000 trades/s, cadence and TA-Lib exactness.

The issue's target: 1000 StreamPrices streams, each subscribed to 10 indicators
across 2 symbols, at 2000 trades/s; batches keep their cadence (p99 interval
within 100 ms +- 10 ms) and every value is TA-Lib-exact.

How it runs (every phase has a deadline; about 40 s with the defaults, plus
up to --wait-quiet-s waiting for an idle machine first):

1. The trades fixture is looped (fanout_soak.looped_replay) so the replay
   outlasts the hold, at a --replay-speed giving --trades-per-s.
2. tickwire starts with --replay-wait-streams = streams + probes + 1, a raised
   --stream-hard-limit (Python readers lag: a stream past the default
   4 MiB would be reset mid-hold) and --drain-timeout 1s.
3. With --client c (the default), one tw-load process (bench/loadclient,
   built when missing) opens all --probes + --streams streams over
   --probes + --channels connections and reads every message of every stream;
   the first --probes streams also record their batches and sampled prices.
   Each stream sends 10 SUBSCRIBEs (five sets of 10, so the engine shares
   states but not all streams ask the same) and must get 10 OK statuses.
   With --client python, a probe process opens --probes streams (one channel
   each) and worker processes open --streams streams over --channels
   channels; the workers only count messages (Python can never read 2 M
   messages/s here) at `nice --worker-nice` so that the probes read first.
   The server runs in its own session, so with scheduler autogroups that
   niceness does not rank the workers below the server: see --server-cpu.
4. One trigger stream opens, which starts the replay (the server counts open
   streams), and is cancelled once the server logs `replay starting`.
5. Hold --hold-s, sampling the server's RSS and CPU: its run time and its
   run-queue wait (/proc/PID/schedstat), and the machine's, so that other
   load on a shared box shows (a WARNING line names it). Then the clients
   report and close, and the server gets SIGTERM; its `stopped` line gives
   the server-side batch timer cadence (over the server's whole life: idle
   start, subscriptions, hold; the drain ends at once as no stream is left).
6. The probes read fast and record the arrival time of every indicator batch
   and every IndicatorUpdate. Each update is compared with TA-Lib (SMA/EMA/RSI
   over its symbol's price series of the looped replay, at its trade_id).

--server-cpu N pins the server to CPU N and the clients to the others, so
that the clients cannot take the server's core (other load still can).
--keep-dir keeps the server log and the probes' recordings.

The server-side interval is the server's own cadence figure. The
client-side inter-arrival (every stream with tw-load, the probes with Python)
also carries the client's scheduling: the price lag (receipt wall time minus
the server's ingest time, sampled) says whether a reader fell behind, in which
case its batches bunch up. tw-load reports its own CPU per message, so a
reader that is the bottleneck shows.

    TICKWIRE_BIN=/tmp/tw-soak/tickwire .venv/bin/python bench/load/indicator_soak.py

The binary is --bin, else $TICKWIRE_BIN, else .build/release/tickwire: a debug
build would measure the debug build.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(REPO_ROOT / "bench" / "load"))

import fanout_soak  # noqa: E402
import harness  # noqa: E402
import tw_load  # noqa: E402

METHOD = harness.STREAM_PRICES_METHOD
CLIENT_STOP_SIGNAL = signal.SIGUSR1
# First byte of a serialized StreamResponse: the tag of its oneof field
# (field << 3 | length-delimited). Lets the readers classify a message without
# parsing the 2000 prices/s they get.
PRICE_TAG, BATCH_TAG, STATUS_TAG, SHUTDOWN_TAG = 0x0A, 0x12, 0x1A, 0x22
STATUS_OK = 0
# The cadence target.
TARGET_INTERVAL_MS = 100.0
TARGET_TOLERANCE_MS = 10.0
REL_TOL = 1e-9
# Probes parse one price in this many to measure how far behind they read.
LAG_SAMPLE_EVERY = 50

# Ten subscriptions over two symbols; the variants swap one each, so that
# streams share indicator states without all asking the same ten.
BASE_SET = [("btcusdt", "SMA", 14), ("btcusdt", "SMA", 50), ("btcusdt", "SMA", 200),
            ("btcusdt", "EMA", 14), ("btcusdt", "EMA", 50), ("btcusdt", "RSI", 14),
            ("ethusdt", "SMA", 20), ("ethusdt", "EMA", 20), ("ethusdt", "EMA", 100),
            ("ethusdt", "RSI", 28)]
VARIANT_SWAPS = [
    None,                                                   # the base set
    (("btcusdt", "SMA", 200), ("btcusdt", "SMA", 100)),
    (("ethusdt", "EMA", 100), ("ethusdt", "EMA", 50)),
    (("btcusdt", "RSI", 14), ("btcusdt", "RSI", 21)),
    (("ethusdt", "SMA", 20), ("ethusdt", "SMA", 30)),
]


def subscriptions_of(stream_index: int) -> list[tuple[str, str, int]]:
    swap = VARIANT_SWAPS[stream_index % len(VARIANT_SWAPS)]
    if swap is None:
        return list(BASE_SET)
    return [swap[1] if s == swap[0] else s for s in BASE_SET]


def percentiles(values: list[float]) -> tuple[float, float, float] | None:
    """p50, p99 and max, nearest rank (as the server's BatchCadence)."""
    if not values:
        return None
    ordered = sorted(values)
    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(len(ordered) * p) - 1)]
    return rank(0.50), rank(0.99), ordered[-1]


def format_ms(triple: tuple[float, float, float] | None) -> str:
    return "n/a" if triple is None else " / ".join(f"{v:.1f}" for v in triple)


# --------------------------------------------------------------------------
# Client processes: workers (count) and probes (record)
# --------------------------------------------------------------------------

class StreamTally:
    """What one stream received. Probes also keep raw batches and lag samples."""

    def __init__(self, index: int, record: bool) -> None:
        self.index = index
        self.record = record
        self.prices = 0
        self.batches = 0
        self.ok = 0
        self.refused: list[str] = []
        self.shutdowns = 0
        self.end: str | None = None
        self.batch_raw: list[tuple[float, bytes]] = []      # (monotonic s, message)
        self.price_samples: list[tuple[float, int, bytes]] = []  # (monotonic s, wall ns, message)

    def take(self, raw: bytes, pb) -> None:
        tag = raw[0]
        if tag == PRICE_TAG:
            self.prices += 1
            if self.record and self.prices % LAG_SAMPLE_EVERY == 0:
                self.price_samples.append((time.monotonic(), time.time_ns(), raw))
        elif tag == BATCH_TAG:
            self.batches += 1
            if self.record:
                self.batch_raw.append((time.monotonic(), raw))
        elif tag == STATUS_TAG:
            status = pb.StreamResponse.FromString(raw).status
            if status.code == STATUS_OK:
                self.ok += 1
            else:
                self.refused.append(f"{status.request_id}: code {status.code} {status.message}")
        elif tag == SHUTDOWN_TAG:
            self.shutdowns += 1


def subscribe_requests(pb, stream_index: int) -> list[bytes]:
    out = []
    for n, (symbol, kind, period) in enumerate(subscriptions_of(stream_index)):
        out.append(pb.IndicatorRequest(
            action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol=symbol,
            type=pb.IndicatorType.Value(f"INDICATOR_TYPE_{kind}"), period=period,
            request_id=f"s{stream_index}-{n}").SerializeToString())
    return out


async def run_clients(target: str, first_index: int, channels: int, streams_per_channel: int,
                      record: bool, answer_timeout_s: float, max_s: float) -> list[StreamTally]:
    """Opens the streams, subscribes, prints `ready` once every stream has its
    10 statuses (or the timeout passed), then reads until the stop signal."""
    import grpc
    pb, _ = harness.stubs()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(CLIENT_STOP_SIGNAL, stop.set)
    loop.call_later(max_s, stop.set)  # hard cap, whatever the parent does

    opened = [grpc.aio.insecure_channel(target, options=harness.CHANNEL_OPTIONS) for _ in range(channels)]
    await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in opened)), timeout=60)
    tallies: list[StreamTally] = []
    calls, tasks = [], []

    async def requests(messages: list[bytes]):
        for message in messages:
            yield message
        await stop.wait()  # keeps the send side open until the end

    async def consume(tally: StreamTally, call) -> None:
        try:
            async for raw in call:
                tally.take(raw, pb)
            tally.end = "OK"
        except grpc.aio.AioRpcError as error:
            tally.end = error.code().name
        except asyncio.CancelledError:
            tally.end = tally.end or "CANCELLED_LOCAL"

    for c, chan in enumerate(opened):
        method = chan.stream_stream(METHOD, request_serializer=None, response_deserializer=None)
        for s in range(streams_per_channel):
            tally = StreamTally(first_index + c * streams_per_channel + s, record)
            call = method(requests(subscribe_requests(pb, tally.index)))
            tallies.append(tally)
            calls.append(call)
            tasks.append(asyncio.create_task(consume(tally, call)))

    deadline = time.monotonic() + answer_timeout_s
    def answered(t: StreamTally) -> bool:
        return t.ok + len(t.refused) >= len(BASE_SET) or t.end is not None
    while not all(answered(t) for t in tallies) and time.monotonic() < deadline and not stop.is_set():
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": len(tallies), "ok": sum(t.ok for t in tallies)}), flush=True)

    await stop.wait()
    open_at_end = sum(1 for t in tallies if t.end is None)
    for call in calls:
        call.cancel()
    await asyncio.wait(tasks, timeout=10)
    for chan in opened:
        await chan.close()
    print(json.dumps({"open_at_end_seen": open_at_end}), flush=True)
    return tallies


def worker_summary(tallies: list[StreamTally]) -> dict:
    return {
        "streams": [[t.index, t.prices, t.batches, t.ok, len(t.refused), t.end or "open", t.shutdowns]
                    for t in tallies],
        "refused": [r for t in tallies for r in t.refused][:10],
    }


def probe_summary(tallies: list[StreamTally], pb) -> dict:
    """Parses what the probes kept raw while reading."""
    probes = []
    for t in tallies:
        arrivals, updates = [], []
        for n, (mono, raw) in enumerate(t.batch_raw):
            arrivals.append(mono)
            for u in pb.StreamResponse.FromString(raw).indicators.updates:
                kind = pb.IndicatorType.Name(u.type).removeprefix("INDICATOR_TYPE_")
                updates.append([n, u.symbol, kind, u.period, u.value, u.trade_id, u.trade_time_ms])
        samples = []
        for mono, wall_ns, raw in t.price_samples:
            price = pb.StreamResponse.FromString(raw).price
            samples.append([mono, (wall_ns - price.ingest_unix_nanos) / 1e6, price.symbol, price.trade_id])
        probes.append({"index": t.index, "subscriptions": subscriptions_of(t.index), "prices": t.prices,
                       "ok": t.ok, "refused": t.refused, "end": t.end or "open",
                       "arrivals": arrivals, "updates": updates, "price_samples": samples})
    return {"probes": probes}


def run_client_process(args) -> int:
    pb, _ = harness.stubs()
    if not args.probe and args.worker_nice:
        os.nice(args.worker_nice)
    tallies = asyncio.run(run_clients(args.target, args.first_index, args.channels,
                                      args.streams_per_channel, args.probe, args.answer_timeout_s,
                                      args.max_s))
    if args.probe:
        Path(args.out).write_text(json.dumps(probe_summary(tallies, pb)))
        print(json.dumps({"done": args.out}), flush=True)
    else:
        print(json.dumps({"done": worker_summary(tallies)}), flush=True)
    return 0


# --------------------------------------------------------------------------
# Reference: TA-Lib over the looped replay
# --------------------------------------------------------------------------

class Reference:
    """Per-symbol price series of the replay file and TA-Lib's indicators on them."""

    def __init__(self, replay: Path) -> None:
        import numpy as np
        with replay.open() as f:
            trades = harness.trades_in(f)
        self.position: dict[tuple[str, int], int] = {}  # (symbol, trade_id) -> place in the file
        self.prices: dict[str, object] = {}
        self.index_of: dict[str, dict[int, int]] = {}
        self.trade_time_ms: dict[str, dict[int, int]] = {}
        for symbol in sorted({t.symbol for t in trades}):
            mine = [t for t in trades if t.symbol == symbol]
            self.prices[symbol] = np.array([t.price for t in mine], dtype=np.float64)
            self.index_of[symbol] = {t.trade_id: i for i, t in enumerate(mine)}
            self.trade_time_ms[symbol] = {t.trade_id: t.trade_time_ms for t in mine}
        for n, t in enumerate(trades):
            self.position[(t.symbol, t.trade_id)] = n
        self.event_time_ms = [t.event_time_ms for t in trades]
        self._series: dict[tuple[str, str, int], object] = {}

    def series(self, symbol: str, kind: str, period: int):
        import talib
        key = (symbol, kind, period)
        if key not in self._series:
            function = {"SMA": talib.SMA, "EMA": talib.EMA, "RSI": talib.RSI}[kind]
            self._series[key] = function(self.prices[symbol], timeperiod=period)
        return self._series[key]

    def check(self, update: list) -> tuple[float | None, str | None]:
        """(relative error, problem) of one [batch, symbol, kind, period, value,
        trade_id, trade_time_ms] against TA-Lib."""
        _, symbol, kind, period, value, trade_id, trade_time_ms = update
        index = self.index_of.get(symbol, {}).get(trade_id)
        if index is None:
            return None, f"{symbol} has no trade {trade_id} in the replay"
        if trade_time_ms != self.trade_time_ms[symbol][trade_id]:
            return None, f"trade_time_ms {trade_time_ms} is not trade {trade_id}'s"
        want = float(self.series(symbol, kind, period)[index])
        if math.isnan(want):
            return None, f"value {value!r} at index {index}, where TA-Lib is still warming"
        error = abs(value - want) / abs(want) if want != 0 else abs(value)
        if error > REL_TOL:
            return error, f"value {value!r} at trade {trade_id} (index {index}), TA-Lib {want!r}"
        return error, None


# --------------------------------------------------------------------------
# Parent: server, clients, hold, report
# --------------------------------------------------------------------------

STOPPED_RE = re.compile(r"\bstopped\"?\s*$")


def schedstat_s(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process."""
    try:
        run_ns, wait_ns, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return float("nan"), float("nan")
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def box_cpu_s() -> tuple[float, float, float]:
    """CPU seconds of the whole machine (all CPUs, /proc/stat): not idle, of
    which interrupts and softirqs (loopback TCP is processed there), and steal."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle - iowait) / tick, (irq + softirq) / tick, steal / tick


def wait_for_quiet_machine(max_wait_s: float, busy_limit: float = 0.15) -> float:
    """Waits (at most `max_wait_s`) until the machine was busy less than
    `busy_limit` of one CPU over a second: other load skews every figure here.
    Returns the last second's busy share."""
    deadline = time.monotonic() + max_wait_s
    while True:
        before = box_cpu_s()[0]
        time.sleep(1.0)
        busy = box_cpu_s()[0] - before
        if busy < busy_limit or time.monotonic() >= deadline:
            return busy


def all_process_cpu_s() -> dict[int, tuple[str, float]]:
    """pid -> (name, CPU seconds) of every process, kernel threads included."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            head, tail = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        out[int(entry.name)] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / tick)
    return out


class HoldMeter:
    """CPU use over the hold: the server's run and run-queue wait, our
    processes', and the machine's, so that other load on the box shows."""

    def __init__(self, server_pid: int, client_pids: list[int]) -> None:
        self.server_pid, self.client_pids = server_pid, client_pids
        self.started = time.monotonic()
        self.server0 = schedstat_s(server_pid)
        self.clients0 = [schedstat_s(p) for p in client_pids]
        self.cpu0 = [fanout_soak.cpu_seconds(p) for p in [server_pid, *client_pids, os.getpid()]]
        self.box0 = box_cpu_s()
        self.all0 = all_process_cpu_s()

    def read(self) -> dict:
        span_s = time.monotonic() - self.started
        server1 = schedstat_s(self.server_pid)
        cpu1 = [fanout_soak.cpu_seconds(p) for p in [self.server_pid, *self.client_pids, os.getpid()]]
        used = [(b - a) / span_s for a, b in zip(self.cpu0, cpu1)]
        busy, interrupts, steal = ((b - a) / span_s for a, b in zip(self.box0, box_cpu_s()))
        ours = {self.server_pid, os.getpid(), *self.client_pids}
        foreign = sorted(((cpu - self.all0.get(pid, (name, 0.0))[1]) / span_s, pid, name)
                         for pid, (name, cpu) in all_process_cpu_s().items() if pid not in ours)
        busiest = [f"{name}[{pid}] {share * 100:.0f}%" for share, pid, name in reversed(foreign[-3:])
                   if share >= 0.01]
        return {"server_cpu": used[0], "client_cpu": used[1:-1], "parent_cpu": used[-1],
                "server_run": (server1[0] - self.server0[0]) / span_s,
                "server_wait": (server1[1] - self.server0[1]) / span_s,
                "client_wait": [(schedstat_s(p)[1] - c0[1]) / span_s
                                for p, c0 in zip(self.client_pids, self.clients0)],
                "box_busy": busy, "interrupts": interrupts, "steal": steal,
                # Softirq work done in our processes' context (loopback TCP
                # receive, run by the sender) is in their CPU time already:
                # subtracting the machine's softirq total as well made this
                # negative under heavy fan-out. Steal is not anyone's here.
                "other_cpu": max(0.0, busy - steal - sum(used)), "busiest_others": busiest}


def log_value(line: str, key: str) -> str | None:
    match = re.search(rf"(?:^|[\s\[(,]){re.escape(key)}=([^\s,\])]+)", line)
    return match.group(1) if match else None


def make_realtime(pid: int) -> None:
    """SCHED_RR at the lowest real-time priority: on a shared machine, other
    processes' builds on the server's (or the client's) CPU then wait for it
    instead of the other way round, as on a machine dedicated to it. The
    kernel's RT throttling still leaves them 5%."""
    os.sched_setscheduler(pid, os.SCHED_RR, os.sched_param(1))


def place_processes(server_cpu: int | None) -> str:
    """With a server CPU, this script (and so the clients it starts) leaves that
    CPU to the server: the clients then cannot take the server's core, whatever
    the scheduler's autogroups make of their niceness. Other load on the
    machine still runs anywhere."""
    if server_cpu is None:
        return "unpinned: server, clients and anything else share every CPU"
    everything = os.sched_getaffinity(0)
    assert server_cpu in everything and len(everything) > 1, f"cannot give CPU {server_cpu} to the server alone"
    others = everything - {server_cpu}
    os.sched_setaffinity(0, others)
    return (f"server pinned to CPU {server_cpu}; this script and its clients on CPU(s) "
            f"{','.join(map(str, sorted(others)))}")


def spawn_clients(args, target: str, first_index: int, channels: int, streams_per_channel: int,
                  probe: bool, out: Path | None, max_s: float) -> subprocess.Popen:
    argv = [sys.executable, __file__, "--as-client", "--target", target, "--first-index", str(first_index),
            "--channels", str(channels), "--streams-per-channel", str(streams_per_channel),
            "--answer-timeout-s", str(args.open_timeout_s), "--max-s", str(max_s),
            "--worker-nice", str(args.worker_nice)]
    if probe:
        argv += ["--probe", "--out", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def start_replay(server: harness.TickwireServer, timeout_s: float) -> float:
    """Opens the last stream the server waits for; returns the monotonic time
    of `replay starting` (as the parent saw the log line)."""
    release = threading.Event()
    chan = harness.channel(server.target)
    try:
        method = chan.stream_stream(METHOD, request_serializer=None, response_deserializer=None)
        call = method(harness.held_open_requests(release, timeout_s))
        server.log.wait_for(r"replay starting", timeout_s)
        started = time.monotonic()
        release.set()
        call.cancel()
        return started
    finally:
        chan.close()


def soak(args) -> int:
    harness.ensure_stubs()
    binary = Path(args.bin or os.environ.get("TICKWIRE_BIN") or REPO_ROOT / ".build/release/tickwire")
    if not binary.exists():
        print(f"no binary at {binary}: swift build -c release --product tickwire", file=sys.stderr)
        return 2
    os.environ["TICKWIRE_BIN"] = str(binary)
    fixture_rate = harness.FIXTURE_TRADE_COUNT / fanout_soak.FIXTURE_SPAN_S
    speed = args.trades_per_s / fixture_rate
    needed_trades = args.trades_per_s * (args.hold_s + 15)
    copies = max(1, math.ceil(needed_trades / harness.FIXTURE_TRADE_COUNT))
    streams_per_channel = args.streams // args.channels
    channels_per_worker = [args.channels // args.procs + (1 if i < args.channels % args.procs else 0)
                           for i in range(args.procs)]
    wait_streams = args.streams + args.probes + 1

    with tempfile.TemporaryDirectory(prefix="tickwire-indicator-soak-") as tmp:
        replay = fanout_soak.looped_replay(copies, Path(tmp))
        reference = Reference(replay)
        backlog = str(args.backlog_mib * 1024 * 1024)
        # Lagging Python readers must be neither conflated nor ended: this soak
        # measures delivering everything.
        extra = ["--stream-hard-limit", backlog, "--stream-soft-limit", backlog,
                 "--slow-consumer-timeout", "1h", "--drain-timeout", "1s"]
        argv = harness.server_argv(replay, speed=f"{speed:.4f}", wait_streams=wait_streams,
                                   log_level="info", extra=extra)
        idle_busy = wait_for_quiet_machine(args.wait_quiet_s)
        print(f"machine busy {idle_busy * 100:.0f}% of one CPU in the second before the start", flush=True)
        placement = place_processes(args.server_cpu)  # before the server, which inherits it
        if args.realtime:
            placement += f"; server{' and tw-load' if args.client == 'c' else ''} at SCHED_RR 1 (--realtime)"
        server = harness.TickwireServer(argv, harness.server_env(), Path(tmp) / "server.log")
        if args.server_cpu is not None:
            os.sched_setaffinity(server.proc.pid, {args.server_cpu})
        if args.realtime:
            make_realtime(server.proc.pid)
        clients: list[subprocess.Popen] = []
        measured: dict = {"server_start": time.monotonic(), "placement": placement}
        try:
            if args.client == "c":
                drive_c(args, server, clients, Path(tmp), measured)
            else:
                drive(args, server, clients, Path(tmp), streams_per_channel, channels_per_worker, measured)
        finally:
            for proc in clients:
                if proc.poll() is None:
                    proc.kill()
            if server.alive():
                try:
                    server.stop(timeout_s=15)
                except AssertionError as error:
                    print(f"server stop: {error}", file=sys.stderr)
            server.kill()
        measured["stopped"] = (server.log.matching(STOPPED_RE) or [None])[-1]
        measured["too_slow"] = len(server.log.matching(r"too slow"))
        measured["notable"] = server.log.matching(r"replay starting|replay finished|error|warning")[:10]
        measured["exit_code"] = server.returncode
        if args.keep_dir:
            keep = Path(args.keep_dir)
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("server.log", "probes.json", "tw-load.json", "probes.jsonl"):
                if (Path(tmp) / name).exists():
                    (keep / name).write_bytes((Path(tmp) / name).read_bytes())
            (keep / "marks.json").write_text(json.dumps(
                {k: measured.get(k) for k in ("server_start", "replay_start", "hold_end", "sigterm")}))
    report(args, measured, reference, speed, copies, wait_streams)
    return 0


def hold(args, server, clients: list[subprocess.Popen], m: dict) -> None:
    """Starts the replay and holds for --hold-s, metering the server's CPU and
    the machine's (the clients are subscribed by now)."""
    m["replay_start"] = start_replay(server, 15)
    m["rss_replay_start_kib"] = server.rss_kib()
    meter = HoldMeter(server.proc.pid, [p.pid for p in clients])
    while time.monotonic() - m["replay_start"] < args.hold_s:
        rss = server.rss_kib()
        if rss is None or rss > args.max_rss_mib * 1024:
            print(f"ending the hold early: server RSS {rss} KiB or server gone", flush=True)
            break
        time.sleep(0.25)
    m["hold_end"] = time.monotonic()
    m["hold_s"] = m["hold_end"] - m["replay_start"]
    m.update(meter.read())
    m["queues"] = fanout_soak.socket_queues(server.port)
    m["rss_end_kib"] = server.rss_kib()
    m["hwm_kib"] = harness.read_status_kib(server.proc.pid, "VmHWM")
    m["server_alive"] = server.alive()


def drive_c(args, server, clients, tmp: Path, m: dict) -> None:
    """As drive(), with one tw-load process reading every stream (probes
    included: the first --probes streams record their batches and sampled
    prices). It runs on the CPU(s) the server was not given."""
    binary = tw_load.ensure_built(args.load_client)
    server.wait_listening()
    sampler = fanout_soak.RssSampler(server.proc.pid).start()
    time.sleep(1.0)
    m["rss_before_kib"] = server.rss_kib()
    max_s = 2 * args.open_timeout_s + args.hold_s + 30
    report_path, record_path = tmp / "tw-load.json", tmp / "probes.jsonl"
    client_cpu = min(os.sched_getaffinity(0)) if args.server_cpu is not None else None
    total = args.streams + args.probes
    t_open = time.monotonic()
    proc = tw_load.spawn(binary, server.target, connections=args.channels + args.probes, streams=total,
                         indicators=len(BASE_SET), duration_s=max_s, json_path=report_path,
                         record_path=record_path, probe_streams=args.probes, sample_every=LAG_SAMPLE_EVERY,
                         cpu=client_cpu)
    clients.append(proc)
    if args.realtime:
        make_realtime(proc.pid)
    m["worker_ready"] = [fanout_soak.read_json_line(proc, "ready", args.open_timeout_s)]
    m["subscribe_s"] = time.monotonic() - t_open
    print(f"server pid {server.proc.pid} on {server.target}; tw-load pid {proc.pid}: {total} streams "
          f"({args.probes} recording) over {args.channels + args.probes} connections subscribed in "
          f"{m['subscribe_s']:.1f}s; starting the replay", flush=True)

    hold(args, server, clients, m)

    load, summary = tw_load.stop(proc, report_path)
    m["tw_load"], m["tw_load_summary"] = load, summary
    rows = load["stream_rows"]
    recorded = tw_load.read_recording(record_path)
    m["open_seen"] = [sum(1 for r in rows if r[tw_load.ROW_END] == "open")]
    m["workers"] = [{"streams": [[r[tw_load.ROW_INDEX], r[tw_load.ROW_PRICES], r[tw_load.ROW_BATCHES],
                                  r[tw_load.ROW_OK], r[tw_load.ROW_NOT_OK],
                                  "CANCELLED_LOCAL" if r[tw_load.ROW_END] == "open" else
                                  f"{r[tw_load.ROW_END]} {r[tw_load.ROW_END_CODE]}", r[tw_load.ROW_SHUTDOWNS]]
                                 for r in rows if r[tw_load.ROW_INDEX] >= args.probes],
                     "refused": load["refusals"]}]
    m["probes"] = []
    for r in rows[:args.probes]:
        index = r[tw_load.ROW_INDEX]
        got = recorded.get(index, {"arrivals": [], "updates": [], "price_samples": []})
        m["probes"].append({"index": index, "subscriptions": subscriptions_of(index), "prices": r[tw_load.ROW_PRICES],
                            "ok": r[tw_load.ROW_OK], "refused": ["not OK"] * r[tw_load.ROW_NOT_OK],
                            "end": r[tw_load.ROW_END], **got})
    sampler.stop()
    m["rss_peak_kib"] = max((rss for _, rss in sampler.samples), default=None)
    m["sigterm"] = time.monotonic()
    server.stop(timeout_s=15)


def drive(args, server, clients, tmp: Path, streams_per_channel: int, channels_per_worker: list[int],
          m: dict) -> None:
    """Server up, clients subscribed, replay started, hold, clients' results,
    SIGTERM. Everything the report needs goes into `m`."""
    server.wait_listening()
    sampler = fanout_soak.RssSampler(server.proc.pid).start()
    time.sleep(1.0)
    m["rss_before_kib"] = server.rss_kib()
    max_s = 2 * args.open_timeout_s + args.hold_s + 30
    probe_out = tmp / "probes.json"
    probe = spawn_clients(args, server.target, 0, args.probes, 1, True, probe_out, max_s)
    clients.append(probe)
    m["probe_ready"] = fanout_soak.read_json_line(probe, "ready", args.open_timeout_s)
    first = args.probes
    for n_channels in channels_per_worker:
        clients.append(spawn_clients(args, server.target, first, n_channels, streams_per_channel,
                                     False, None, max_s))
        first += n_channels * streams_per_channel
    t_open = time.monotonic()
    m["worker_ready"] = [fanout_soak.read_json_line(w, "ready", args.open_timeout_s + 30) for w in clients[1:]]
    m["subscribe_s"] = time.monotonic() - t_open
    print(f"server pid {server.proc.pid} on {server.target}; {args.streams} streams + {args.probes} probes "
          f"subscribed in {m['subscribe_s']:.1f}s; starting the replay", flush=True)

    hold(args, server, clients, m)

    for proc in clients:
        proc.send_signal(CLIENT_STOP_SIGNAL)
    m["open_seen"] = [fanout_soak.read_json_line(p, "open_at_end_seen", 30)["open_at_end_seen"] for p in clients]
    m["workers"] = [fanout_soak.read_json_line(w, "done", 60)["done"] for w in clients[1:]]
    fanout_soak.read_json_line(probe, "done", 60)
    m["probes"] = json.loads(probe_out.read_text())["probes"]
    for proc in clients:
        proc.wait(10)
    sampler.stop()
    m["rss_peak_kib"] = max((rss for _, rss in sampler.samples), default=None)
    m["sigterm"] = time.monotonic()
    server.stop(timeout_s=15)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def probe_cadence(m: dict) -> dict:
    """Inter-arrival of indicator batches at each probe, over the hold."""
    start, end = m["replay_start"], m["hold_end"]
    pooled, per_probe, bunched = [], [], 0
    for p in m["probes"]:
        times = [t for t in p["arrivals"] if start <= t <= end]
        gaps = [(b - a) * 1000 for a, b in zip(times, times[1:])]
        pooled += gaps
        bunched += sum(1 for g in gaps if g < 0.5 * TARGET_INTERVAL_MS)
        per_probe.append(percentiles(gaps))
    lags = [s[1] for p in m["probes"] for s in p["price_samples"] if start <= s[0] <= end]
    late_lags = [s[1] for p in m["probes"] for s in p["price_samples"] if end - 5 <= s[0] <= end]
    return {"pooled": percentiles(pooled), "per_probe": per_probe, "gaps": len(pooled),
            "bunched": bunched, "lag_ms": percentiles(lags), "late_lag_ms": percentiles(late_lags)}


def published_during_hold(m: dict, reference: Reference) -> tuple[float, int] | None:
    """(trades/s, trades) the server published over the hold, from the probes'
    sampled prices: their place in the replay file against the server's ingest
    time (arrival minus lag), so a probe reading late does not count."""
    points = sorted((s[0] - s[1] / 1000, reference.position.get((s[2], s[3]))) for p in m["probes"]
                    for s in p["price_samples"])
    points = [x for x in points if x[1] is not None and m["replay_start"] <= x[0] <= m["hold_end"]]
    if len(points) < 2 or points[-1][0] - points[0][0] < 1:
        return None
    count = points[-1][1] - points[0][1]
    return count / (points[-1][0] - points[0][0]), count


def schedule_lag_s(m: dict, reference: Reference, speed: float) -> tuple[float, float] | None:
    """(max over the hold, at its end) of how late the server published the
    probes' sampled prices against the replay's schedule (recorded time / speed)."""
    first_ms = reference.event_time_ms[0]
    lags = []
    for p in m["probes"]:
        for arrived, lag_ms, symbol, trade_id in p["price_samples"]:
            position = reference.position.get((symbol, trade_id))
            ingest = arrived - lag_ms / 1000
            if position is None or not m["replay_start"] <= ingest <= m["hold_end"]:
                continue
            due = (reference.event_time_ms[position] - first_ms) / 1000 / speed
            lags.append((ingest, ingest - m["replay_start"] - due))
    if not lags:
        return None
    lags.sort()
    return max(lag for _, lag in lags), lags[-1][1]


def check_values(m: dict, reference: Reference) -> dict:
    checked, max_error, failures, shape = 0, 0.0, [], []
    keys_seen = set()
    for p in m["probes"]:
        subscribed = {(s.upper(), k, n) for s, k, n in p["subscriptions"]}
        last_trade: dict[tuple, int] = {}
        seen_in_batch: dict[int, set] = {}
        for update in p["updates"]:
            n, symbol, kind, period, _, trade_id, _ = update
            key = (symbol, kind, period)
            keys_seen.add(key)
            if key not in subscribed or key in seen_in_batch.setdefault(n, set()) or \
                    trade_id <= last_trade.get(key, -1):
                shape.append(f"probe {p['index']} batch {n}: {key} at trade {trade_id}")
            seen_in_batch[n].add(key)
            last_trade[key] = trade_id
            error, problem = reference.check(update)
            checked += 1
            if error is not None:
                max_error = max(max_error, error)
            if problem is not None:
                failures.append(f"probe {p['index']} batch {n} {key}: {problem}")
    wanted = {(s.upper(), k, n) for p in m["probes"] for s, k, n in p["subscriptions"]}
    return {"checked": checked, "max_error": max_error, "failures": failures, "shape": shape,
            "keys": len(keys_seen), "missing": sorted(wanted - keys_seen)}


def report_tw_load(load: dict) -> None:
    """What tw-load saw on every stream over its window (first price to the stop)."""
    iv, lat, cpu = load["batch_interval_ms"], load["latency_us"], load["cpu"]
    within = abs(iv["p99"] - TARGET_INTERVAL_MS) <= TARGET_TOLERANCE_MS
    print(f"client batch inter-arrival p50/p99/max  {iv['p50']:.1f} / {iv['p99']:.1f} / {iv['max']:.1f} ms over "
          f"{iv['count']} gaps on all {load['streams']} streams ({'within' if within else 'OUTSIDE'} "
          f"{TARGET_INTERVAL_MS:.0f} +- {TARGET_TOLERANCE_MS:.0f} ms); each stream's own p99: median "
          f"{iv['stream_p99_median']:.1f}, worst {iv['stream_p99_max']:.1f} ms (tw-load, {load['window_s']:.1f} s window)")
    print(f"client latency ingest->receipt  p50 {lat['p50'] / 1000:.2f} / p99 {lat['p99'] / 1000:.2f} / "
          f"p99.9 {lat['p999'] / 1000:.2f} / max {lat['max'] / 1000:.2f} ms over {lat['samples']} sampled prices")
    print(f"tw-load                         {load['msgs_per_s']:.0f} msgs/s, {load['bytes_window'] / 1e6 / max(load['window_s'], 1e-9):.0f} MB/s; "
          f"{cpu['window_share_of_core'] * 100:.0f}% of a core, {cpu['ns_per_msg_window']:.0f} ns CPU per message; "
          f"streams ended early {load['errors']}, malformed {load['malformed']}, truncated {load['truncated']}")


def report(args, m: dict, reference: Reference, speed: float, copies: int, wait_streams: int) -> None:
    streams = [s for w in m["workers"] for s in w["streams"]]
    probes = m["probes"]
    ok_per_stream = [s[3] for s in streams] + [p["ok"] for p in probes]
    full = sum(1 for n in ok_per_stream if n == len(BASE_SET))
    open_at_end = sum(m["open_seen"])
    cadence = probe_cadence(m)
    values = check_values(m, reference)
    published = published_during_hold(m, reference)
    behind = schedule_lag_s(m, reference, speed)
    rate = published[0] if published else float("nan")
    stopped = m["stopped"] or ""
    server_ms = [log_value(stopped, k) for k in ("batch_interval_p50_ms", "batch_interval_p99_ms",
                                                  "batch_interval_max_ms")]
    p99 = float(server_ms[1]) if server_ms[1] else float("nan")
    within = abs(p99 - TARGET_INTERVAL_MS) <= TARGET_TOLERANCE_MS
    prices = sorted(s[1] for s in streams)
    batches = sorted(s[2] for s in streams)
    ends: dict[str, int] = {}
    for s in streams:
        ends[s[5]] = ends.get(s[5], 0) + 1

    print()
    print(f"replay                          {copies} x fixture at --replay-speed {speed:.2f} "
          f"(target {args.trades_per_s:.0f} trades/s); published {rate:.0f} trades/s over the hold "
          f"(by the server's ingest times of the probes' sampled prices)")
    if behind:
        print(f"replay behind its schedule      max {behind[0]:.2f} s, {behind[1]:.2f} s at the end of the hold "
              f"(server ingest time against recorded time / speed)")
    print(f"server flags                    --stream-hard-limit {args.backlog_mib} MiB (raised from 4 MiB "
          f"so lagging Python readers are not reset), --drain-timeout 1s, --replay-wait-streams {wait_streams}")
    if "tw_load" in m:
        print(f"streams                         {len(streams)} worker streams + {len(probes)} recording probes, "
              f"all read by one tw-load process over {m['tw_load']['connections']} connections")
    else:
        print(f"streams                         {len(streams)} worker streams over {args.channels} channels in "
              f"{args.procs} processes (nice +{args.worker_nice}) + {len(probes)} probes (1 channel each)")
    print(f"subscribe phase                 {m['subscribe_s']:.1f} s for every stream's 10 statuses")
    print(f"statuses OK                     {sum(ok_per_stream)} (want {len(BASE_SET) * len(ok_per_stream)}); "
          f"streams with all 10 OK: {full} of {len(ok_per_stream)}; refused: "
          f"{sum(s[4] for s in streams) + sum(len(p['refused']) for p in probes)}")
    print(f"streams open at end of hold     {open_at_end} of {len(ok_per_stream)}  (worker ends before stop: "
          f"{ {k: v for k, v in ends.items() if k != 'CANCELLED_LOCAL'} or 'none'})")
    print(f"hold                            {m['hold_s']:.1f} s from `replay starting`")
    # The clients have closed before SIGTERM, so the drain ends at once.
    life_s = m.get("sigterm", m["hold_end"]) - m["server_start"]
    print(f"server batch interval p50/p99/max  {' / '.join(v or '?' for v in server_ms)} ms "
          f"({'within' if within else 'OUTSIDE'} {TARGET_INTERVAL_MS:.0f} +- {TARGET_TOLERANCE_MS:.0f} ms); "
          f"{log_value(stopped, 'batch_rounds')} rounds over ~{life_s:.0f} s of server life "
          f"(~{life_s * 1000 / TARGET_INTERVAL_MS:.0f} at 100 ms; fewer = the loop fell behind)")
    print(f"probe batch inter-arrival p50/p99/max  {format_ms(cadence['pooled'])} ms over {cadence['gaps']} gaps "
          f"(per probe p99: {', '.join(f'{c[1]:.0f}' if c else '-' for c in cadence['per_probe'])})")
    print(f"probe gaps < 50 ms (bunched)    {cadence['bunched']}")
    print(f"probe price lag p50/p99/max     {format_ms(cadence['lag_ms'])} ms over the hold; "
          f"last 5 s {format_ms(cadence['late_lag_ms'])} ms (receipt wall time - server ingest, 1 in "
          f"{LAG_SAMPLE_EVERY} prices)")
    if "tw_load" in m:
        report_tw_load(m["tw_load"])
    print(f"IndicatorUpdates vs TA-Lib      {values['checked']} checked over {values['keys']} distinct "
          f"indicators; max relative error {values['max_error']:.3g} (limit {REL_TOL:g}); "
          f"{len(values['failures'])} differ")
    for line in values["failures"][:5]:
        print(f"  differs: {line}")
    if values["missing"]:
        print(f"  no update at all for {values['missing']}")
    print(f"batch shape violations          {len(values['shape'])}")
    for line in values["shape"][:5]:
        print(f"  shape: {line}")
    print(f"worker streams prices min/median/max   {prices[0]} / {prices[len(prices) // 2]} / {prices[-1]}")
    print(f"worker streams batches min/median/max  {batches[0]} / {batches[len(batches) // 2]} / {batches[-1]}")
    print(f"probe prices each               {', '.join(str(p['prices']) for p in probes)}")
    print(f"server RSS                      before clients {m['rss_before_kib']} KiB, at replay start "
          f"{m['rss_replay_start_kib']} KiB, end of hold {m['rss_end_kib']} KiB, peak VmHWM {m['hwm_kib']} KiB "
          f"(1 s samples peak {m['rss_peak_kib']} KiB)")
    print(f"server CPU during hold          {m['server_cpu'] * 100:.0f}% of one core; waiting for a CPU "
          f"while runnable {m['server_wait'] * 100:.0f}% of the time (schedstat)")
    if rate == rate and rate > 0:
        per_trade_us = m["server_cpu"] / rate * 1e6
        print(f"server CPU per trade            {per_trade_us:.0f} us, {per_trade_us * 1000 / len(ok_per_stream):.0f} ns "
              f"per stream; {args.trades_per_s:.0f} trades/s x {len(ok_per_stream)} streams would need "
              f"~{per_trade_us * args.trades_per_s / 1e6 * 100:.0f}% of one core")
    clients_cpu = (f"tw-load {m['client_cpu'][0] * 100:.0f}% (waiting for a CPU while runnable "
                   f"{m['client_wait'][0] * 100:.0f}% of the time)" if "tw_load" in m else
                   f"probes {m['client_cpu'][0] * 100:.0f}%, workers "
                   f"{', '.join(f'{c * 100:.0f}%' for c in m['client_cpu'][1:])}")
    print(f"other CPU during hold           {clients_cpu}, this script "
          f"{m['parent_cpu'] * 100:.0f}%, irq+softirq {m['interrupts'] * 100:.0f}%, steal "
          f"{m['steal'] * 100:.0f}%, other processes ~{m['other_cpu'] * 100:.0f}%; machine busy "
          f"{m['box_busy'] * 100:.0f}% of {os.cpu_count() * 100}%")
    print(f"CPU placement                   {m['placement']}")
    if m["other_cpu"] > 0.10:
        print(f"WARNING                         processes not started here used ~{m['other_cpu'] * 100:.0f}% of a CPU "
              f"during the hold (largest still running at its end: {', '.join(m['busiest_others']) or 'none over 1%'}; "
              f"processes that exited during the hold are not named): "
              f"the cadence figures are not the server's alone; run again on a quiet machine")
    print(f"kernel queues at end of hold    {m['queues'] or 'ss not available'}")
    print(f"'stream too slow' resets        {m['too_slow']}")
    print(f"server exit code                {m['exit_code']}; alive through the hold: {m['server_alive']}")
    print(f"server stopped line             {stopped or 'missing'}")
    for line in m["notable"]:
        print(f"log: {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", help="tickwire binary (default $TICKWIRE_BIN or .build/release/tickwire)")
    parser.add_argument("--streams", type=int, default=1000, help="counting streams (workers)")
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2, help="worker processes")
    parser.add_argument("--probes", type=int, default=10, help="recording streams, in their own process")
    parser.add_argument("--trades-per-s", type=float, default=2000.0)
    parser.add_argument("--hold-s", type=float, default=30.0)
    parser.add_argument("--open-timeout-s", type=float, default=60.0)
    parser.add_argument("--backlog-mib", type=int, default=256, help="--stream-hard-limit, in MiB")
    parser.add_argument("--worker-nice", type=int, default=10, help="niceness of the worker processes")
    parser.add_argument("--max-rss-mib", type=float, default=8192,
                        help="end the hold early if the server's RSS passes this")
    parser.add_argument("--server-cpu", type=int,
                        help="pin the server to this CPU and the clients to the others (default: unpinned)")
    parser.add_argument("--realtime", action="store_true",
                        help="run the server and tw-load at SCHED_RR priority 1, so that other load on a "
                             "shared machine cannot preempt them (reported in the CPU placement line)")
    parser.add_argument("--wait-quiet-s", type=float, default=120,
                        help="wait at most this long for the machine to be idle before starting")
    parser.add_argument("--keep-dir", help="copy the server log and the probes' recordings here")
    parser.add_argument("--client", choices=["c", "python"], default="c",
                        help="c: tw-load (bench/loadclient) reads every stream and records the probes; "
                             "python: grpcio worker and probe processes, as before (default c)")
    parser.add_argument("--load-client", type=Path, help="tw-load binary (default .build-loadclient/tw-load, "
                                                         "built when missing)")
    parser.add_argument("--as-client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--first-index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--streams-per-channel", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--answer-timeout-s", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--max-s", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_client:
        return run_client_process(args)
    assert args.streams % args.channels == 0, "--streams must be a multiple of --channels"
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
