#!/usr/bin/env python3
"""Live-feed latency: real trades through a fake Binance into tickwire and out to one gRPC client.

The fake (Tests/Integration/fake_binance.py) serves the recorded trades over
TLS WebSocket on 127.0.0.1 at a fixed rate (5,000 trades/s by default) on
Binance's combined stream; tickwire runs its live feed against it
(--binance-url, --binance-ca-file) and one grpcio StreamPrices client reads
everything. 100,000 trades by default: the 15,863-trade recording repeated,
each copy's ids continuing the previous copy's per symbol and its times moved on.

Checks: the client got every trade exactly once, per symbol in id order with no
id missing, and with the recorded fields. Prints, in µs:
- ingest → client: client receive wall time − PriceUpdate.ingest_unix_nanos
  (tickwire's read of the frame to the Python client holding the message);
- fake → client: client receive wall time − the moment the fake queued the
  frame (adds the fake's own send and TLS);
and the trade rates the fake published and the client received.

    .venv/bin/python bench/load/live_feed_latency.py --bin .build/release/tickwire [--trades 100000 --rate 5000]

The client runs in its own process (this script with --client-worker), so it
does not share a GIL with the fake; it stamps each message as grpcio's
iterator hands it over and decodes afterwards. One host clock serves all three
processes. The Python client's own cost is still in every number, and on two
shared cores the fake, tickwire and the client compete for CPU: a client that
falls behind shows up as a received rate below the published one and as
latency that grows over the run. Every phase has a deadline.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))

import fake_binance  # noqa: E402
import harness  # noqa: E402
from fanout_soak import read_json_line  # noqa: E402


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def check_sequence(got: list[harness.Trade], want: list[harness.Trade]) -> list[str]:
    """Problems with what the client got, per symbol (empty when exact)."""
    problems = []
    got_by, want_by = collections.defaultdict(list), collections.defaultdict(list)
    for t in got:
        got_by[t.symbol].append(t)
    for t in want:
        want_by[t.symbol].append(t)
    for symbol in sorted(set(got_by) | set(want_by)):
        g, w = got_by[symbol], want_by[symbol]
        ids = [t.trade_id for t in g]
        counts = collections.Counter(ids)
        duplicated = sum(n - 1 for n in counts.values() if n > 1)
        missing = len({t.trade_id for t in w} - set(ids))
        out_of_order = sum(1 for a, b in zip(ids, ids[1:]) if b <= a)
        non_consecutive = sum(1 for a, b in zip(ids, ids[1:]) if b != a + 1)
        print(f"  {symbol}: received {len(g)}, sent {len(w)}, ids {ids[0] if ids else '-'}..{ids[-1] if ids else '-'}, "
              f"missing {missing}, duplicated {duplicated}, out of order {out_of_order}, "
              f"id steps != 1: {non_consecutive}")
        if g != w:
            problems.append(f"{symbol}: {harness.first_difference(g, w)}")
    return problems


# --------------------------------------------------------------------------
# Client worker process
# --------------------------------------------------------------------------

def client_worker(args) -> int:
    """Reads `args.count` prices from one StreamPrices stream; writes one JSON
    object per price (fields, ingest and receive times) to args.out."""
    import grpc

    pb, _ = harness.stubs()
    done = threading.Event()
    barrier = pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol=harness.BARRIER_SYMBOL,
                                  type=pb.INDICATOR_TYPE_SMA, period=14,
                                  request_id=harness.BARRIER_REQUEST_ID).SerializeToString()

    def requests():
        yield barrier
        done.wait(args.deadline_s)

    chan = grpc.insecure_channel(args.target, options=harness.CHANNEL_OPTIONS)
    method = chan.stream_stream(harness.STREAM_PRICES_METHOD, request_serializer=None,
                                response_deserializer=None)
    call = method(requests(), timeout=args.deadline_s)
    received: list[tuple[int, bytes]] = []
    prices = 0
    ready = False
    try:
        for raw in call:
            now = time.time_ns()
            if not ready:
                response = pb.StreamResponse.FromString(raw)
                if response.WhichOneof("payload") == "status":
                    ready = True
                    print(json.dumps({"ready": True}), flush=True)
                    continue
            received.append((now, raw))
            prices += 1
            if prices >= args.count:
                break
    except grpc.RpcError as error:
        print(json.dumps({"error": f"{error.code()}: {error.details()}"}), flush=True)
    finally:
        done.set()
        call.cancel()
        chan.close()
    with open(args.out, "w") as f:
        for recv_ns, raw in received:
            response = pb.StreamResponse.FromString(raw)
            if response.WhichOneof("payload") != "price":
                continue
            p = response.price
            f.write(json.dumps([recv_ns, p.symbol, p.price, p.quantity, p.trade_id, p.trade_time_ms,
                                p.event_time_ms, p.ingest_unix_nanos]) + "\n")
    print(json.dumps({"done": prices}), flush=True)
    return 0


class Price:
    __slots__ = ("recv_wall_ns", "trade", "ingest_unix_nanos")

    def __init__(self, row: list) -> None:
        self.recv_wall_ns = row[0]
        self.trade = harness.Trade(symbol=row[1], price=row[2], quantity=row[3], trade_id=row[4],
                                   trade_time_ms=row[5], event_time_ms=row[6])
        self.ingest_unix_nanos = row[7]


def run(args) -> int:
    harness.ensure_stubs()
    binary = Path(args.bin) if args.bin else harness.tickwire_binary()
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    os.environ["TICKWIRE_BIN"] = str(binary)
    lines = harness.TRADES_FIXTURE.read_text().splitlines()
    copies = math.ceil(args.trades / len(lines))
    frames = fake_binance.looped_frames(lines, copies)[: args.trades]
    want = [harness.trade_from_frame(f.text) for f in frames]
    print(f"binary {binary}\n{len(frames)} trades ({copies} x the recording), {args.rate:.0f} trades/s "
          f"(~{len(frames) / args.rate:.0f} s)", flush=True)

    with tempfile.TemporaryDirectory(prefix="tickwire-live-bench-") as tmp:
        ca = fake_binance.make_ca(Path(tmp))
        certificate = fake_binance.issue_server_cert(ca, Path(tmp))
        fake = fake_binance.FakeBinance(frames, certificate, rate=args.rate, paused=True)
        fake.start()
        argv = harness.live_feed_argv(fake.url(), ca_file=ca.cert, log_level=args.log_level)
        server = harness.TickwireServer(argv, harness.server_env(), Path(tmp) / "server.log")
        worker = None
        out = Path(tmp) / "prices.jsonl"
        try:
            server.wait_listening()
            fake.wait_open(1, 15)
            server.log.wait_for(harness.FEED_CONNECTED_RE, 10)
            run_s = len(frames) / args.rate
            worker = subprocess.Popen(
                [sys.executable, __file__, "--client-worker", "--target", server.target,
                 "--count", str(len(frames)), "--out", str(out), "--deadline-s", str(run_s * 2 + 120)],
                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
            read_json_line(worker, "ready", 30)
            started = time.monotonic()
            fake.resume()
            fake.wait_position(len(frames), run_s * 1.5 + 30)
            published_s = time.monotonic() - started
            cpu = server_cpu_seconds(server.proc.pid)
            finished = read_json_line(worker, "done", run_s + 90)
            received_s = time.monotonic() - started
            worker.wait(30)
            flush_histogram = scrape_flush_latency(server)
            rss = server.rss_kib()
            code = server.stop()
        finally:
            if worker is not None and worker.poll() is None:
                worker.kill()
            if server.alive():
                server.kill()
            fake.stop()
        prices = [Price(json.loads(line)) for line in out.read_text().splitlines()] if out.exists() else []
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("prices.jsonl", "server.log"):
                if (Path(tmp) / name).exists():
                    (keep / name).write_bytes((Path(tmp) / name).read_bytes())
        reached = finished.get("done") == len(frames) and len(prices) == len(frames)
        stopped = server.log.matching(harness.STOPPED_RE)
        feed_lines = server.log.matching(r"feed (connection lost|connection failed|gap|stale|rotation)")
        connections = fake.connections()

    got = [item.trade for item in prices]
    ingest_us = sorted((item.recv_wall_ns - item.ingest_unix_nanos) / 1000 for item in prices)
    index_of = {(f.symbol, f.trade_id): i for i, f in enumerate(frames)}
    queued_ns = [fake.publish_wall_ns(index_of[(p.trade.symbol, p.trade.trade_id)])
                 if (p.trade.symbol, p.trade.trade_id) in index_of else None for p in prices]
    fake_us = sorted((item.recv_wall_ns - q) / 1000 for item, q in zip(prices, queued_ns) if q is not None)
    first_recv = prices[0].recv_wall_ns / 1e9 if prices else float("nan")
    last_recv = prices[-1].recv_wall_ns / 1e9 if prices else float("nan")

    print()
    print(f"fake published                 {len(frames)} in {published_s:.2f} s = {len(frames) / published_s:.0f} trades/s")
    print(f"client received                {len(prices)} in {last_recv - first_recv:.2f} s = "
          f"{(len(prices) - 1) / max(last_recv - first_recv, 1e-9):.0f} trades/s (all within {received_s:.1f} s of start: {reached})")
    print("sequence check")
    problems = check_sequence(got, want)
    print(f"ingest -> client latency (µs)  p50 {percentile(ingest_us, 50):.0f}  p90 {percentile(ingest_us, 90):.0f}  "
          f"p99 {percentile(ingest_us, 99):.0f}  p99.9 {percentile(ingest_us, 99.9):.0f}  max {max(ingest_us, default=float('nan')):.0f}")
    print(f"fake -> client latency (µs)    p50 {percentile(fake_us, 50):.0f}  p90 {percentile(fake_us, 90):.0f}  "
          f"p99 {percentile(fake_us, 99):.0f}  p99.9 {percentile(fake_us, 99.9):.0f}  max {max(fake_us, default=float('nan')):.0f}")
    negative = sum(1 for v in ingest_us if v < 0)
    early = sum(1 for item, q in zip(prices, queued_ns) if q is not None and item.ingest_unix_nanos < q)
    if flush_histogram:
        print("ingest -> flush, server side   " + describe_histogram(flush_histogram)
              + "  (tickwire_ingest_to_flush_latency_seconds; bucket upper bounds)")
    print(f"ingest stamps before the fake queued the frame: {early}; after the client got it: {negative}")
    print(f"server CPU                     {cpu:.1f} s while the fake published; RSS at end {rss} KiB; exit code {code}")
    print(f"fake connections               {len(connections)} ({', '.join(fake_binance.describe_connection(r) for r in connections)})")
    for line in feed_lines[:10]:
        print(f"log: {line}")
    if stopped:
        print(f"log: {stopped[-1]}")
    if problems or not reached or len(connections) != 1:
        for p in problems:
            print(f"FAIL {p}")
        if not reached:
            print(f"FAIL the client received {len(prices)} of {len(frames)}")
        if len(connections) != 1:
            print(f"FAIL the feed used {len(connections)} connections")
        return 1
    print("OK: every trade once, in order, exact fields")
    return 0


def server_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrape_flush_latency(server) -> list[tuple[float, int]]:
    """The server's own ingest→flush histogram: [(upper bound s, cumulative count)]."""
    import urllib.request
    try:
        port = server.wait_metrics_listening(5)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    except Exception as error:  # the bench still reports the client side
        print(f"(no /metrics: {error})")
        return []
    buckets = []
    for line in text.splitlines():
        if line.startswith("tickwire_ingest_to_flush_latency_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), int(float(line.rsplit(" ", 1)[1]))))
    return sorted(buckets)


def describe_histogram(buckets: list[tuple[float, int]]) -> str:
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return "no observations"
    parts = []
    for quantile in (0.5, 0.9, 0.99, 0.999):
        bound = next(b for b, count in buckets if count >= quantile * total)
        parts.append(f"p{quantile * 100:g} ≤ {bound * 1e6:.0f} µs")
    return f"{total} trades: " + "  ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", help="tickwire binary (default $TICKWIRE_BIN or .build/debug/tickwire); "
                                      "benchmark the release build")
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=5000.0, help="trades per second the fake publishes")
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--keep", metavar="DIR",
                        help="copy the client's prices (JSON lines: recv_ns, symbol, price, qty, id, "
                             "trade_ms, event_ms, ingest_ns) and the server log here")
    parser.add_argument("--client-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--deadline-s", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_worker:
        return client_worker(args)
    assert args.trades > 0 and args.rate > 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
