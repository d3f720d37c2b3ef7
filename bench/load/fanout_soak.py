#!/usr/bin/env python3
"""Fan-out soak: many StreamPrices streams on a paced replay, with the server's RSS.

Starts tickwire with a paced replay (~2000 trades/s by default), opens 1000
streams over 100 channels (one TCP connection each) from grpcio's asyncio API
in a few worker processes, holds them for 30 s, counts messages per stream and
samples the server's VmRSS once a second. Every phase has a deadline; the
whole run takes about open-timeout + hold + 30 s at most.

    .venv/bin/python bench/load/fanout_soak.py [--streams 1000 --channels 100 --hold-s 30]

The binary is $TICKWIRE_BIN or .build/debug/tickwire (see --bin). Note that a
Python client cannot read 2000 trades/s x 1000 streams (2 M messages/s): the
per-stream counts measure the clients' share as much as the server's, which is
why the client-side rate is printed next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))

import harness  # noqa: E402

METHOD = "/tickwire.v1.PriceStream/StreamPrices"
FIXTURE_SPAN_S = 346.0  # first to last event time of the trades fixture
WORKER_STOP_SIGNAL = signal.SIGUSR1


# --------------------------------------------------------------------------
# Replay file
# --------------------------------------------------------------------------

def looped_replay(copies: int, directory: Path) -> Path:
    """The trades fixture repeated `copies` times, each copy shifted forward in
    time (so the pace stays the recorded one) and in trade ids (so ids stay
    unique per symbol)."""
    lines = harness.TRADES_FIXTURE.read_text().splitlines()
    frames = [json.loads(line) for line in lines]
    times = [f["data"]["E"] for f in frames]
    time_step_ms = max(times) - min(times) + 50
    id_step: dict[str, int] = {}
    for f in frames:
        d = f["data"]
        id_step[d["s"]] = max(id_step.get(d["s"], 0), d["t"])
    first_id = {s: min(f["data"]["t"] for f in frames if f["data"]["s"] == s) for s in id_step}
    id_step = {s: id_step[s] - first_id[s] + 1 for s in id_step}
    out = directory / f"trades-x{copies}.jsonl"
    with out.open("w") as f:
        for k in range(copies):
            for frame in frames:
                d = dict(frame["data"])
                d["E"] += k * time_step_ms
                d["T"] += k * time_step_ms
                d["t"] += k * id_step[d["s"]]
                f.write(json.dumps({"stream": frame["stream"], "data": d}, separators=(",", ":")) + "\n")
    return out


# --------------------------------------------------------------------------
# Worker process: asyncio streams
# --------------------------------------------------------------------------

async def worker_main(target: str, channels: int, streams_per_channel: int, max_s: float) -> dict:
    import grpc

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(WORKER_STOP_SIGNAL, stop.set)
    loop.call_later(max_s, stop.set)  # hard cap, whatever the parent does

    opened = [grpc.aio.insecure_channel(target, options=harness.CHANNEL_OPTIONS) for _ in range(channels)]
    await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in opened)), timeout=60)
    counts = [0] * (channels * streams_per_channel)
    ends: list[str | None] = [None] * len(counts)
    calls = []

    async def no_requests():
        await stop.wait()  # keeps the send side open until the end
        return
        yield  # noqa: unreachable - makes this an async generator

    async def consume(index: int, call) -> None:
        try:
            async for _ in call:
                counts[index] += 1
            ends[index] = "OK"
        except grpc.aio.AioRpcError as error:
            ends[index] = error.code().name
        except asyncio.CancelledError:
            ends[index] = ends[index] or "CANCELLED_LOCAL"

    tasks = []
    for c, chan in enumerate(opened):
        method = chan.stream_stream(METHOD, request_serializer=None, response_deserializer=None)
        for s in range(streams_per_channel):
            index = c * streams_per_channel + s
            call = method(no_requests())
            calls.append(call)
            tasks.append(asyncio.create_task(consume(index, call)))
    await asyncio.sleep(0.5)
    print(json.dumps({"opened": len(calls)}), flush=True)
    await stop.wait()
    open_at_end = sum(1 for e in ends if e is None)
    ends_before_stop = [e for e in ends if e is not None]
    for call in calls:
        call.cancel()
    await asyncio.wait(tasks, timeout=10)
    for chan in opened:
        await chan.close()
    summary: dict[str, int] = {}
    for e in ends_before_stop:
        summary[e] = summary.get(e, 0) + 1
    return {"counts": counts, "open_at_end": open_at_end, "ended_early": summary}


def run_worker(args) -> int:
    harness.ensure_stubs()
    result = asyncio.run(worker_main(args.target, args.channels, args.streams_per_channel, args.max_s))
    print(json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------
# Parent: server, workers, RSS sampling, report
# --------------------------------------------------------------------------

class RssSampler:
    def __init__(self, pid: int, interval_s: float = 1.0) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, args=(interval_s,))

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            rss = harness.read_status_kib(self.pid, "VmRSS")
            if rss is None:
                return
            self.samples.append((time.monotonic(), rss))
            self._stop.wait(interval_s)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def socket_queues(port: int) -> dict[str, int]:
    """Bytes waiting in the kernel on the server's TCP connections, from `ss`:
    unread by the clients (client Recv-Q) and unsent by the server (server Send-Q).
    Large client Recv-Q means the clients are the bottleneck."""
    try:
        out = subprocess.run(["ss", "-tnH", "state", "established"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    totals = {"client_recv_q": 0, "server_send_q": 0, "server_recv_q": 0, "connections": 0}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        recv_q, send_q, local, peer = int(parts[0]), int(parts[1]), parts[2], parts[3]
        if local.endswith(f":{port}"):
            totals["server_send_q"] += send_q
            totals["server_recv_q"] += recv_q
            totals["connections"] += 1
        elif peer.endswith(f":{port}"):
            totals["client_recv_q"] += recv_q
    return totals


def read_json_line(proc: subprocess.Popen, key: str, timeout_s: float) -> dict:
    """The first JSON line from `proc` that has `key` or `error` (bounded by a
    timer thread); raises unless it has `key`."""
    found: dict = {}
    done = threading.Event()

    def pump():
        for line in proc.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if key in obj or "error" in obj:
                found.update(obj)
                break
        done.set()

    threading.Thread(target=pump, daemon=True).start()
    if not done.wait(timeout_s) or key not in found:
        raise TimeoutError(f"worker {proc.pid} printed no {key!r} within {timeout_s}s: {found}")
    return found


def soak(args) -> int:
    harness.ensure_stubs()
    binary = Path(args.bin) if args.bin else harness.tickwire_binary()
    os.environ["TICKWIRE_BIN"] = str(binary)
    trades_per_s = harness.FIXTURE_TRADE_COUNT / FIXTURE_SPAN_S * args.speed
    needed_trades = trades_per_s * (args.hold_s + args.open_timeout_s / 2)
    copies = max(1, math.ceil(needed_trades / harness.FIXTURE_TRADE_COUNT))
    channels_per_worker = [args.channels // args.procs + (1 if i < args.channels % args.procs else 0)
                           for i in range(args.procs)]
    streams_per_channel = args.streams // args.channels
    total_streams = streams_per_channel * args.channels

    with tempfile.TemporaryDirectory(prefix="tickwire-soak-") as tmp:
        replay = looped_replay(copies, Path(tmp))
        # Python workers cannot read 2 M messages/s: keep them neither
        # conflated nor ended, so the soak measures holding every stream.
        argv = harness.server_argv(replay, speed=str(args.speed), wait_streams=total_streams,
                                   log_level=args.log_level,
                                   extra=["--stream-soft-limit", "4194304", "--slow-consumer-timeout", "1h"])
        server = harness.TickwireServer(argv, harness.server_env(), Path(tmp) / "server.log")
        workers: list[subprocess.Popen] = []
        try:
            server.wait_listening()
            print(f"server pid {server.proc.pid} on {server.target}; replay {copies} x fixture at "
                  f"{args.speed}x (~{trades_per_s:.0f} trades/s); {total_streams} streams over "
                  f"{args.channels} channels in {args.procs} processes", flush=True)
            time.sleep(1.0)
            sampler = RssSampler(server.proc.pid).start()
            time.sleep(1.1)
            rss_before = server.rss_kib()
            max_s = args.open_timeout_s + args.hold_s + 15
            for n_channels in channels_per_worker:
                workers.append(subprocess.Popen(
                    [sys.executable, __file__, "--worker", "--target", server.target,
                     "--channels", str(n_channels), "--streams-per-channel", str(streams_per_channel),
                     "--max-s", str(max_s)],
                    stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL))
            t_open = time.monotonic()
            for worker in workers:
                read_json_line(worker, "opened", args.open_timeout_s)
            open_s = time.monotonic() - t_open
            print(f"all streams opened in {open_s:.1f}s; holding {args.hold_s}s", flush=True)
            hold_start = time.monotonic()
            cpu_start = cpu_seconds(server.proc.pid)
            while time.monotonic() - hold_start < args.hold_s:
                rss = server.rss_kib()
                if rss is None or rss > args.max_rss_mib * 1024:
                    print(f"stopping the hold early: server RSS {rss} KiB (cap {args.max_rss_mib} MiB) "
                          f"or server gone", flush=True)
                    break
                time.sleep(0.5)
            hold_s = time.monotonic() - hold_start
            server_cpu = (cpu_seconds(server.proc.pid) - cpu_start) / hold_s
            queues = socket_queues(server.port)
            worker_cpu = [cpu_seconds(w.pid) for w in workers]
            rss_end = server.rss_kib()
            for worker in workers:
                worker.send_signal(WORKER_STOP_SIGNAL)
            results = [read_json_line(worker, "counts", 30) for worker in workers]
            for worker in workers:
                worker.wait(10)
            time.sleep(2.0)
            rss_after_close = server.rss_kib()
            hwm = harness.read_status_kib(server.proc.pid, "VmHWM")
            sampler.stop()
            server_alive = server.alive()
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
            if server.alive():
                try:
                    server.stop()
                except AssertionError as error:
                    print(f"server stop: {error}", file=sys.stderr)
            server.kill()
        finished = server.log.matching(harness.REPLAY_FINISHED_RE)
        notable = server.log.matching(r"replay starting|stopped\"?\s*$|too slow|error|warning")

    counts = [c for r in results for c in r["counts"]]
    open_at_end = sum(r["open_at_end"] for r in results)
    ended_early: dict[str, int] = {}
    for r in results:
        for k, v in r["ended_early"].items():
            ended_early[k] = ended_early.get(k, 0) + v
    peak = max(rss for _, rss in sampler.samples) if sampler.samples else None
    total = sum(counts)
    per_stream_kib_end = (rss_end - rss_before) / max(open_at_end, 1)
    per_stream_kib_peak = (peak - rss_before) / max(open_at_end, 1) if peak else float("nan")
    print()
    print(f"streams opened                 {len(counts)}")
    print(f"streams open at end            {open_at_end}")
    print(f"streams ended early            {ended_early or 'none'}")
    print(f"hold                           {hold_s:.1f} s (published ~{trades_per_s * hold_s:.0f} trades in it)")
    print(f"total messages                 {total}  ({total / hold_s:.0f}/s at the clients)")
    print(f"messages per stream min/median/max  {min(counts)} / {statistics.median(counts):.0f} / {max(counts)}")
    print(f"RSS before clients             {rss_before} KiB")
    print(f"RSS peak (1 s samples)         {peak} KiB   (VmHWM {hwm} KiB)")
    print(f"RSS at end (streams open)      {rss_end} KiB")
    print(f"RSS after clients closed       {rss_after_close} KiB")
    print(f"KiB per stream (end - before)  {per_stream_kib_end:.1f}")
    print(f"KiB per stream (peak - before) {per_stream_kib_peak:.1f}")
    print(f"server alive before stop       {server_alive}; exit code {server.returncode}")
    print(f"server CPU during hold         {server_cpu * 100:.0f}% of one core; workers' total CPU "
          f"{', '.join(f'{c:.1f}s' for c in worker_cpu)} (2 shared cores in all)")
    print(f"kernel queues at end of hold   {queues or 'ss not available'}")
    print(f"replay finished line           {finished[-1] if finished else 'not reached (expected: replay outlasts the hold)'}")
    slow = [line for line in notable if "too slow" in line]
    print(f"'stream too slow' resets       {len(slow)}")
    for line in [line for line in notable if "too slow" not in line][:10]:
        print(f"log: {line}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", help="tickwire binary (default $TICKWIRE_BIN or .build/debug/tickwire)")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--procs", type=int, default=2, help="client worker processes")
    parser.add_argument("--speed", type=float, default=45.0, help="multiple of the recorded pace (~44 trades/s)")
    parser.add_argument("--hold-s", type=float, default=30.0)
    parser.add_argument("--open-timeout-s", type=float, default=60.0)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--max-rss-mib", type=float, default=8192,
                        help="end the hold early if the server's RSS passes this")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--streams-per-channel", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-s", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)
    assert args.streams % args.channels == 0, "--streams must be a multiple of --channels"
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
