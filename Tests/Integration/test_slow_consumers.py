"""Slow consumers: a reader that never reads is conflated, then ended, and
nobody else notices (--stream-soft-limit, --stream-hard-limit,
--slow-consumer-timeout).

The stalled reader is a raw HTTP/2 client (the `h2` library) that opens
StreamPrices with huge flow-control windows and then never reads its socket,
so the server's own queue for it is what grows. Two grpcio clients read
normally and must receive every trade, in order, while it happens.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import h2_client
import harness
from harness import metadata_int

sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
from fanout_soak import looped_replay  # noqa: E402

TRADES_PER_S = 5000
COPIES = 4                      # ~63,000 trades: ~13 s at 5,000 trades/s
RECORDED_TRADES_PER_S = harness.FIXTURE_TRADE_COUNT / 346.0
SLOW_TIMEOUT_S = 3.0
RSS_GROWTH_LIMIT_KIB = 64 * 1024
SLOW_LOG = "stream too slow; ending it"


def test_stalled_reader_is_conflated_then_ended_while_others_get_everything(start_server, grpc_channels,
                                                                            collectors, tmp_path):
    replay = looped_replay(COPIES, tmp_path)
    expected = harness.trades_in(replay.read_text().splitlines())
    speed = TRADES_PER_S / RECORDED_TRADES_PER_S
    server = start_server(replay=replay, speed=f"{speed:.2f}", wait_streams=3,
                          extra=["--slow-consumer-timeout", f"{SLOW_TIMEOUT_S}s", "--log-level", "info"])
    rss_before = server.rss_kib()

    stalled = h2_client.RawH2Connection(server.port, huge_windows=True, recv_buffer_bytes=4096)
    stalled_id = stalled.open_stream(h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD),
                                     end_stream=False)
    healthy = [collectors(grpc_channels(server.target), name=f"healthy-{i}", deadline_s=120).start()
               for i in range(2)]

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
    latencies_us = []
    for collector in healthy:
        got = [harness.trade_from_update(item.response.price) for item in collector.prices()]
        assert got == expected, f"{collector.name}: {harness.first_difference(got, expected)}"
        latencies_us += [(item.recv_wall_ns - item.response.price.ingest_unix_nanos) / 1000
                         for item in collector.prices()]
    latencies_us.sort()
    p99 = latencies_us[int(len(latencies_us) * 0.99) - 1]
    print(f"\nhealthy clients: p50 {latencies_us[len(latencies_us) // 2]:.0f} µs, p99 {p99:.0f} µs; "
          f"RSS before {rss_before} KiB, during {rss_during} KiB")
    assert rss_during - rss_before < RSS_GROWTH_LIMIT_KIB, (rss_before, rss_during)

    code = server.stop()
    assert code == 0
    stopped = server.log.matching(harness.STOPPED_RE)[-1]
    assert metadata_int(stopped, "conflated_trades") > 0, stopped
    assert metadata_int(stopped, "slow_streams_reset") == 1, stopped


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
