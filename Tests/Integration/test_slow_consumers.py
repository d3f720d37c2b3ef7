"""Slow consumers: a reader that never reads is conflated, then ended, and
nobody else notices (--stream-soft-limit, --stream-hard-limit,
--slow-consumer-timeout).

The stalled reader is a raw HTTP/2 client (the `h2` library) that opens
StreamPrices with huge flow-control windows and then never reads its socket,
so the server's own queue for it is what grows. Six healthy clients read
normally and must receive every trade, in order, while it happens: one
grpcio stream, and five streams of tw-load (bench/loadclient, a C client on
nghttp2, one connection each), which records every price it receives. Five
grpcio readers in one Python process could not keep up with 25,000 messages/s
and would become slow consumers themselves.

The healthy clients' ingest->receive latency is printed, not asserted:
speed is the benchmark's job (bench/load/healthy_latency.py, the same setup
on a release build, where the target is p99 under 5 ms).
"""

from __future__ import annotations

import re
import sys
import time
import urllib.request
from pathlib import Path

import h2_client
import harness
from harness import metadata_int

sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
import tw_load  # noqa: E402
from fanout_soak import looped_replay  # noqa: E402

TRADES_PER_S = 5000
COPIES = 4                      # ~63,000 trades: ~13 s at 5,000 trades/s
RECORDED_TRADES_PER_S = harness.FIXTURE_TRADE_COUNT / 346.0
SLOW_TIMEOUT_S = 3.0
RSS_GROWTH_LIMIT_KIB = 64 * 1024
SLOW_LOG = "stream too slow; ending it"
C_CLIENT_STREAMS = 5


def test_stalled_reader_is_conflated_then_ended_while_others_get_everything(start_server, grpc_channels,
                                                                            collectors, tmp_path):
    replay = looped_replay(COPIES, tmp_path)
    expected = harness.trades_in(replay.read_text().splitlines())
    speed = TRADES_PER_S / RECORDED_TRADES_PER_S
    server = start_server(replay=replay, speed=f"{speed:.2f}", wait_streams=2 + C_CLIENT_STREAMS,
                          extra=["--slow-consumer-timeout", f"{SLOW_TIMEOUT_S}s", "--log-level", "info"])
    rss_before = server.rss_kib()

    stalled = h2_client.RawH2Connection(server.port, huge_windows=True, recv_buffer_bytes=4096)
    stalled_id = stalled.open_stream(h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD),
                                     end_stream=False)
    healthy = [collectors(grpc_channels(server.target), name=f"healthy-{i}", deadline_s=120).start()
               for i in range(1)]
    report_path, record_path = tmp_path / "tw-load.json", tmp_path / "tw-load-prices.jsonl"
    c_client = tw_load.spawn(tw_load.ensure_built(), server.target, connections=C_CLIENT_STREAMS,
                             streams=C_CLIENT_STREAMS, indicators=0, duration_s=120, json_path=report_path,
                             record_path=record_path, probe_streams=C_CLIENT_STREAMS, sample_every=1)

    # The stalled stream crosses the soft limit within a second or two at this
    # rate, is conflated from then on, and ends SLOW_TIMEOUT_S later.
    _, line = server.log.wait_for(SLOW_LOG, 30.0)
    assert "RESOURCE_EXHAUSTED" in line or "client too slow" in line, line
    rss_during = server.rss_kib()

    # What the stalled client finally reads: the rest of the message on the
    # wire, then trailers with RESOURCE_EXHAUSTED (the unsent backlog was dropped).
    result = stalled.pump_until_done(stalled_id, timeout_s=15.0)
    assert result.grpc_status == "8", result.describe()
    stalled.close()

    for collector in healthy:
        assert collector.wait_count(len(expected), 90.0), (
            f"{collector.name}: {collector.count()} of {len(expected)}; {collector.describe_end()}\n"
            f"{server.log.tail()}")
    server.log.wait_for(harness.REPLAY_FINISHED_RE, 30.0)
    # Everything published is on the wire by now; give tw-load a moment to read the tail.
    want = [(trade.symbol, trade.trade_id) for trade in expected]
    harness.wait_until(lambda: record_path.exists() and _recorded_prices(record_path) >= C_CLIENT_STREAMS * len(want),
                       30.0)
    report, _ = tw_load.stop(c_client, report_path)
    recorded = tw_load.read_recording(record_path)
    assert sorted(recorded) == list(range(C_CLIENT_STREAMS)), f"tw-load recorded streams {sorted(recorded)}"
    for index, probe in sorted(recorded.items()):
        got = [(symbol, trade_id) for _, _, symbol, trade_id in probe["price_samples"]]
        assert got == want, (f"tw-load stream {index}: {len(got)} of {len(want)} prices; first difference at "
                             f"{next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))}")
    latency = report["latency_us"]
    c_latency = f"p50 {latency['p50']:.0f} µs, p99 {latency['p99']:.0f} µs, max {latency['max']:.0f} µs"
    latencies_us = []
    for collector in healthy:
        got = [harness.trade_from_update(item.response.price) for item in collector.prices()]
        assert got == expected, f"{collector.name}: {harness.first_difference(got, expected)}"
        latencies_us += [(item.recv_wall_ns - item.response.price.ingest_unix_nanos) / 1000
                         for item in collector.prices()]
    latencies_us.sort()
    p99 = latencies_us[int(len(latencies_us) * 0.99) - 1]
    print(f"\nhealthy grpcio client: p50 {latencies_us[len(latencies_us) // 2]:.0f} µs, p99 {p99:.0f} µs; "
          f"tw-load's {C_CLIENT_STREAMS} streams: {c_latency}; RSS before {rss_before} KiB, during {rss_during} KiB")
    assert rss_during - rss_before < RSS_GROWTH_LIMIT_KIB, (rss_before, rss_during)

    # The conflation shows on /metrics, not only in the stop line.
    server.wait_metrics_listening()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as response:
        exposition = response.read().decode()
    match = re.search(r"^tickwire_conflated_trades_total (\S+)$", exposition, re.MULTILINE)
    assert match, "no tickwire_conflated_trades_total sample"
    conflated_metric = float(match.group(1))

    code = server.stop()
    assert code == 0
    stopped = server.log.matching(harness.STOPPED_RE)[-1]
    assert metadata_int(stopped, "conflated_trades") > 0, stopped
    assert conflated_metric == metadata_int(stopped, "conflated_trades"), (conflated_metric, stopped)
    assert metadata_int(stopped, "slow_streams_reset") == 1, stopped


def _recorded_prices(path: Path) -> int:
    with path.open() as f:
        return sum(1 for line in f if '"trade_id"' in line)


def test_bad_slow_consumer_flags_are_refused():
    import subprocess
    for args, message in [
        (["--stream-soft-limit", "1000"], "--stream-soft-limit must be at least 16384"),
        (["--stream-soft-limit", "8388608"], "at most --stream-hard-limit"),
        (["--slow-consumer-timeout", "soon"], "--slow-consumer-timeout 'soon'"),
    ]:
        result = subprocess.run(harness.server_argv(replay=harness.TRADES_FIXTURE) + args,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)


INDICATOR_SUBSCRIPTIONS = 64    # the default --max-subscriptions-per-stream
STALL_HOLD_S = 4.0


def test_a_stalled_reader_s_indicator_batches_wait_at_the_soft_limit_and_catch_up(start_server, tmp_path):
    """Past --stream-soft-limit a stream's indicator batches wait like its
    prices: with 64 subscriptions and a batch every 5 ms (~460 KB/s) they
    would reach a 256 KiB hard limit within a second of the reader stalling,
    and the stream would end although --slow-consumer-timeout is a minute.
    Once the reader reads again, batches resume: the first one queued after
    the stall carries all 64 subscriptions, each at a trade no older than the
    last price of its symbol before it. (Every value changes every few ms at
    this rate, so this does not tell "deferred" from "dropped and resumed";
    the deferral itself is what the counter and the open stream show.)"""
    pb, _ = harness.stubs()
    replay = looped_replay(COPIES, tmp_path)
    speed = 2000 / RECORDED_TRADES_PER_S
    server = start_server(replay=replay, speed=f"{speed:.2f}", wait_streams=1,
                          extra=["--stream-soft-limit", "16384", "--stream-hard-limit", "262144",
                                 "--slow-consumer-timeout", "60s", "--indicator-interval", "5ms",
                                 "--log-level", "info"])
    requests = [pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol=symbol,
                                    type=pb.INDICATOR_TYPE_SMA, period=period, request_id=f"{symbol}-{period}")
                for symbol in ("btcusdt", "ethusdt") for period in range(2, 2 + INDICATOR_SUBSCRIPTIONS // 2)]
    body = b"".join(_grpc_frame(request.SerializeToString()) for request in requests)
    stalled = h2_client.RawH2Connection(server.port, huge_windows=True, recv_buffer_bytes=4096)
    stream_id = stalled.open_stream(h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD),
                                    body=body, end_stream=False)
    try:
        assert harness.wait_until(lambda: _counter(server, "tickwire_indicator_batches_deferred_total") > 0, 30.0), (
            f"no batch was deferred: the stalled stream never passed the soft limit\n{server.log.tail()}")
        time.sleep(STALL_HOLD_S)  # ~800 more batch rounds while stalled
        assert not server.log.matching(SLOW_LOG), f"the stalled stream was ended:\n{server.log.tail()}"
        assert _counter(server, "tickwire_conflated_trades_total") > 0

        # Reading again: what was queued during the stall drains first; a price
        # ingested after this moment marks where the fresh part of the stream starts.
        resumed_ns = time.time_ns()
        deadline = time.monotonic() + 10.0
        result = stalled.results[stream_id]
        reader = _AfterStall(pb, resumed_ns)
        while time.monotonic() < deadline and reader.first_fresh_batch is None:
            stalled.pump_until_done(stream_id, timeout_s=0.2)
            assert not (result.ended or result.reset_code is not None), result.describe()
            reader.read(result.data)
        batch = reader.first_fresh_batch
        assert batch is not None, f"no batch after the reader caught up: {reader.describe()}"
        assert len(batch.updates) == INDICATOR_SUBSCRIPTIONS, (
            f"first batch after the stall: {len(batch.updates)} of {INDICATOR_SUBSCRIPTIONS} subscriptions")
        stale = [(u.symbol, u.period, u.trade_id, reader.last_price_id[u.symbol]) for u in batch.updates
                 if u.trade_id < reader.last_price_id.get(u.symbol, 0)]
        assert not stale, f"values older than the prices before them (symbol, period, value's trade, last price): {stale[:5]}"
    finally:
        stalled.close()
    assert server.stop() == 0
    stopped = server.log.matching(harness.STOPPED_RE)[-1]
    assert metadata_int(stopped, "indicator_batches_deferred") > 0, stopped
    assert metadata_int(stopped, "slow_streams_reset") == 0, stopped


def _grpc_frame(payload: bytes) -> bytes:
    return b"\x00" + len(payload).to_bytes(4, "big") + payload


class _AfterStall:
    """Reads a stream's gRPC messages as they arrive and finds the first
    IndicatorBatch after the first price ingested once reading resumed,
    remembering the last price id of each symbol seen before it."""

    def __init__(self, pb, resumed_ns: int) -> None:
        self.pb = pb
        self.resumed_ns = resumed_ns
        self.offset = 0
        self.fresh = False
        self.prices = 0
        self.last_price_id: dict[str, int] = {}
        self.first_fresh_batch = None

    def read(self, data: bytes) -> None:
        while self.first_fresh_batch is None and self.offset + 5 <= len(data):
            length = int.from_bytes(data[self.offset + 1:self.offset + 5], "big")
            if self.offset + 5 + length > len(data):
                return
            response = self.pb.StreamResponse.FromString(data[self.offset + 5:self.offset + 5 + length])
            self.offset += 5 + length
            kind = response.WhichOneof("payload")
            if kind == "price":
                self.prices += 1
                self.last_price_id[response.price.symbol] = response.price.trade_id
                self.fresh = self.fresh or response.price.ingest_unix_nanos > self.resumed_ns
            elif kind == "indicators" and self.fresh:
                self.first_fresh_batch = response.indicators

    def describe(self) -> str:
        return f"{self.prices} prices read, fresh part reached: {self.fresh}"


def _counter(server, name: str) -> float:
    server.wait_metrics_listening()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as response:
        match = re.search(rf"^{name} (\S+)$", response.read().decode(), re.MULTILINE)
    assert match, f"no {name} sample"
    return float(match.group(1))
