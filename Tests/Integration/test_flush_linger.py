"""--flush-linger: trades wait up to the window so that several leave in one
write per connection; everything else (handshakes, unary answers, trailers)
is written at once.

What a client sees with a 50 ms window at 200 trades/s: prices in clumps,
one clump per window, each price at most the window (plus scheduling) after
its ingest, none lost or reordered. Without the window the same feed arrives
one price at a time. A health check on a lingering server is answered at once.
Connections take turns: at 2,000 trades/s and a 1 ms window each connection
gets three trades per write, and each trade reaches a third of them at once,
not all of them in one sweep. A window that no second trade can reach in
time holds nothing.
`--flush-linger auto`, the default, stays out of the way of a quiet feed, and
engages (and says so, with its --flush-budget window) while a full-speed
replay keeps the loop busy, losing nothing. `--flush-linger 0` writes every
iteration whatever the load.

Every wait has a deadline; every loop is bounded by a count.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
import urllib.request

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import harness

sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
import tw_load  # noqa: E402

RATE = 200            # trades/s: one every 5 ms
LINGER_MS = 50
WANT = 400            # two seconds of trades


def rate_argv(extra: list[str], rate: int = RATE, wait_streams: int = 1) -> list[str]:
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, wait_streams=wait_streams)
    at = argv.index("--replay-speed")  # server_argv always passes it; --replay-rate excludes it
    del argv[at:at + 2]
    return argv + ["--replay-rate", str(rate)] + extra


def receive(start_server, grpc_channels, collectors, expected_trades, extra: list[str]):
    server = start_server(argv=rate_argv(extra))
    collector = collectors(grpc_channels(server.target), name="linger", deadline_s=30).start()
    assert collector.wait_count(WANT, 15.0), f"got {collector.count()} of {WANT}: {collector.describe_end()}"
    prices = collector.prices()[:WANT]
    trades = [harness.trade_from_update(item.response.price) for item in prices]
    assert trades == expected_trades[:WANT], harness.first_difference(trades, expected_trades[:WANT])
    gaps_ms = [(b.recv_mono - a.recv_mono) * 1000 for a, b in zip(prices, prices[1:])]
    latency_ms = [(item.recv_wall_ns - item.response.price.ingest_unix_nanos) / 1e6 for item in prices]
    return server, gaps_ms, latency_ms


def clumps(gaps_ms: list[float]) -> int:
    """Arrivals separated by more than a fifth of the window: one write each."""
    return 1 + sum(1 for g in gaps_ms if g > LINGER_MS / 5)


def test_prices_leave_in_one_write_per_window(start_server, grpc_channels, collectors, expected_trades):
    server, gaps_ms, latency_ms = receive(start_server, grpc_channels, collectors, expected_trades,
                                          ["--flush-linger", f"{LINGER_MS}ms"])
    windows = WANT / RATE * 1000 / LINGER_MS  # 40
    print(f"\n[flush-linger {LINGER_MS}ms] {WANT} prices in {clumps(gaps_ms)} clumps (~{windows:.0f} windows); "
          f"latency median {statistics.median(latency_ms):.1f} ms, max {max(latency_ms):.1f} ms")
    # One clump per window (a late window can split in two on a busy machine), not one per trade.
    assert clumps(gaps_ms) <= 2 * windows, f"{clumps(gaps_ms)} separate arrivals for {WANT} prices"
    assert statistics.median(gaps_ms) < 1.0, f"median gap {statistics.median(gaps_ms):.2f} ms: not clumped"
    # The first price of a window waited nearly the whole window; on average half.
    assert max(latency_ms) >= LINGER_MS * 0.8, f"nothing waited: max latency {max(latency_ms):.1f} ms"
    assert statistics.median(latency_ms) <= LINGER_MS + 20, f"median latency {statistics.median(latency_ms):.1f} ms"

    # Unary calls are not held: headers and trailers are urgent and take the message along.
    stub = health_pb2_grpc.HealthStub(grpc_channels(server.target))
    stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)  # the channel is connected
    took = []
    for _ in range(10):
        started = time.monotonic()
        stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        took.append((time.monotonic() - started) * 1000)
    print(f"[flush-linger {LINGER_MS}ms] health check median {statistics.median(took):.2f} ms")
    assert statistics.median(took) < LINGER_MS / 2, f"health checks waited for the window: {took}"


def test_without_the_window_prices_arrive_one_by_one(start_server, grpc_channels, collectors, expected_trades):
    _, gaps_ms, latency_ms = receive(start_server, grpc_channels, collectors, expected_trades, ["--flush-linger", "0"])
    print(f"\n[flush-linger 0] {WANT} prices, median gap {statistics.median(gaps_ms):.2f} ms; "
          f"latency median {statistics.median(latency_ms):.2f} ms")
    # The control: the same measures see the feed's own 5 ms pace.
    assert statistics.median(gaps_ms) >= 2.0, f"median gap {statistics.median(gaps_ms):.2f} ms without a window"
    assert statistics.median(latency_ms) < LINGER_MS / 5


def scrape(server) -> str:
    if server.metrics_port is None:
        server.wait_metrics_listening()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as response:
        return response.read().decode()


def recorded_lags(start_server, tmp_path, window: str, rate: int, connections: int, seconds: float):
    """tw-load (C, precise receipt times) on `connections` connections with a
    fixed window: per stream, [(receipt mono s, ingest-to-receipt ms, trade id)]
    of every price from its stream's second second on, and the server's metrics."""
    server = start_server(argv=rate_argv(["--flush-linger", window], rate=rate, wait_streams=connections))
    report_path, record_path = tmp_path / "tw-load.json", tmp_path / "tw-load-prices.jsonl"
    client = tw_load.spawn(tw_load.ensure_built(), server.target, connections=connections, streams=connections,
                           indicators=0, duration_s=seconds, json_path=report_path, record_path=record_path,
                           probe_streams=connections, sample_every=1)
    try:
        client.wait(timeout=seconds + 30)
        report, _ = tw_load.stop(client, report_path)
    finally:
        if client.poll() is None:
            client.kill()
    metrics = scrape(server)
    recorded = tw_load.read_recording(record_path)
    assert sorted(recorded) == list(range(connections)), sorted(recorded)
    streams = []
    for index in range(connections):
        samples = recorded[index]["price_samples"]
        start = samples[0][0] + 1.0
        streams.append([(at, lag, (symbol, trade_id)) for at, lag, symbol, trade_id in samples if at >= start])
    return streams, metrics


def clump_sizes(stream) -> list[int]:
    """Prices of one stream grouped by arrival: a new group after a gap of 0.2 ms."""
    sizes = [1]
    for (a, _, _), (b, _, _) in zip(stream, stream[1:]):
        if (b - a) * 1000 > 0.2:
            sizes.append(1)
        else:
            sizes[-1] += 1
    return sizes[1:-1]  # the first and last may be cut by the recording's edges


def test_connections_take_turns_three_trades_a_write(start_server, tmp_path):
    """A trade every 500 µs and a 1 ms window: a window takes in three
    trades (0, 0.5 and 1 ms old). Each connection gets them in one write,
    and the connections take turns: each trade reaches the six connections
    at three moments about 0.5 ms apart instead of all in one sweep."""
    connections = 6
    streams, metrics = recorded_lags(start_server, tmp_path, "1ms", rate=2000, connections=connections, seconds=4)
    sizes = [size for stream in streams for size in clump_sizes(stream)]
    threes = sum(1 for size in sizes if size == 3) / len(sizes)
    lags = sorted(lag for stream in streams for _, lag, _ in stream)
    p99 = lags[int(len(lags) * 0.99)]
    # When each trade reached each connection: the spread is the turns.
    reached: dict[tuple[str, int], list[float]] = {}
    for stream in streams:
        for at, _, trade_id in stream:
            reached.setdefault(trade_id, []).append(at)
    spreads_ms = [(max(ats) - min(ats)) * 1000 for ats in reached.values() if len(ats) == connections]
    spread = statistics.median(spreads_ms)
    ended = re.findall(r'tickwire_flush_linger_windows_total\{ended="(\w+)"\} (\d+)', metrics)
    print(f"\n[flush-linger 1ms, 2,000 trades/s, {connections} connections] {len(lags)} prices; "
          f"{threes:.0%} of writes carry 3; latency median {statistics.median(lags):.3f} ms, p99 {p99:.3f} ms; "
          f"a trade reaches all connections within {spread:.3f} ms (median); windows ended: {dict(ended)}")
    assert threes >= 0.8, f"writes per connection carried {sorted(set(sizes))}, only {threes:.0%} three"
    assert 0.7 <= spread <= 1.5, f"median spread {spread:.3f} ms: the connections did not take turns"
    assert p99 < 2.0, f"p99 latency {p99:.3f} ms with a 1 ms window"
    assert int(dict(ended)["arrival"]) > 0, metrics


def test_a_window_no_second_trade_can_reach_holds_nothing(start_server, tmp_path):
    """A 300 µs window on a feed with a trade every 5 ms: no trade would
    ever share a write with the next, so none waits for the window. The
    control is the same feed with no window at all (an idle machine's own
    wake-up latency is a few hundred µs of it)."""
    streams, metrics = recorded_lags(start_server, tmp_path, "300us", rate=RATE, connections=2, seconds=3)
    windowed = statistics.median(lag for stream in streams for _, lag, _ in stream)
    ended = dict(re.findall(r'tickwire_flush_linger_windows_total\{ended="(\w+)"\} (\d+)', metrics))
    streams, _ = recorded_lags(start_server, tmp_path, "0", rate=RATE, connections=2, seconds=3)
    unwindowed = statistics.median(lag for stream in streams for _, lag, _ in stream)
    print(f"\n[a trade every 5 ms] latency median {windowed:.3f} ms with a 300 µs window, "
          f"{unwindowed:.3f} ms without; windows ended: {ended}")
    assert windowed < unwindowed + 0.15, f"prices waited for a window no trade could share"
    assert ended["budget"] == "0", ended


def test_a_window_under_a_millisecond_is_kept_to_the_microsecond(start_server, tmp_path):
    """A 300 µs window at 5,000 trades/s (one every 200 µs): two trades per
    write, none waiting the millisecond a rounded wait would take."""
    streams, _ = recorded_lags(start_server, tmp_path, "300us", rate=5000, connections=4, seconds=3)
    sizes = [size for stream in streams for size in clump_sizes(stream)]
    lags = sorted(lag for stream in streams for _, lag, _ in stream)
    p90 = lags[int(len(lags) * 0.9)]
    print(f"\n[flush-linger 300us, 5,000 trades/s] {len(lags)} prices; clumps {statistics.median(sizes)} (median); "
          f"latency median {statistics.median(lags):.3f} ms, p90 {p90:.3f} ms")
    assert statistics.median(sizes) == 2, f"clumps {sorted(set(sizes))}: the window did not hold two trades"
    assert p90 < 0.8, f"p90 latency {p90:.3f} ms: the window waited for a whole millisecond"


BUSY_RE = re.compile(r"loop busy; prices now wait up to the linger window")
QUIET_RE = re.compile(r"loop quiet again; prices are written every iteration")


def test_the_default_auto_leaves_a_quiet_feed_alone(start_server, grpc_channels, collectors, expected_trades):
    server, gaps_ms, latency_ms = receive(start_server, grpc_channels, collectors, expected_trades, [])
    print(f"\n[default: flush-linger auto, {RATE} trades/s] median gap {statistics.median(gaps_ms):.2f} ms; "
          f"latency median {statistics.median(latency_ms):.2f} ms")
    assert statistics.median(gaps_ms) >= 2.0, f"median gap {statistics.median(gaps_ms):.2f} ms: clumped"
    assert not server.log.matching(BUSY_RE), server.log.tail()


@pytest.mark.parametrize("extra, window_ms", [([], "1"), (["--flush-linger", "auto", "--flush-budget", "500us"], "0.5")])
def test_auto_engages_while_the_loop_is_busy_and_loses_nothing(start_server, tmp_path, expected_trades,
                                                               extra, window_ms):
    """A full-speed replay to 20 tw-load streams (a C client that keeps up, so
    the loop, not its readers, sets the pace) keeps the loop busy: the window
    (the default's, or a --flush-budget's) engages and says so, and every
    stream still gets every trade, in order. When the replay ends the loop
    goes quiet and the window releases."""
    streams = 20
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=streams, extra=extra)
    report_path, record_path = tmp_path / "tw-load.json", tmp_path / "tw-load-prices.jsonl"
    client = tw_load.spawn(tw_load.ensure_built(), server.target, connections=streams, streams=streams,
                           indicators=0, duration_s=90, json_path=report_path, record_path=record_path,
                           probe_streams=2, sample_every=1)
    try:
        _, busy = server.log.wait_for(BUSY_RE, 60.0)
        server.log.wait_for(harness.REPLAY_FINISHED_RE, 60.0)
        _, quiet = server.log.wait_for(QUIET_RE, 10.0)
        time.sleep(0.5)  # the last flush reaches tw-load's sockets
        report, _ = tw_load.stop(client, report_path)
    finally:
        if client.poll() is None:
            client.kill()
    print(f"\n[flush-linger auto, replay at max speed] {busy.strip()}\n[replay over] {quiet.strip()}")
    assert harness.metadata_str(busy, "window_ms") == window_ms, busy
    prices = [row[tw_load.ROW_PRICES] for row in report["stream_rows"]]
    assert min(prices) == max(prices) == len(expected_trades), (min(prices), max(prices))
    want = [(trade.symbol, trade.trade_id) for trade in expected_trades]
    recorded = tw_load.read_recording(record_path)
    assert sorted(recorded) == [0, 1], sorted(recorded)
    for index, probe in sorted(recorded.items()):
        got = [(symbol, trade_id) for _, _, symbol, trade_id in probe["price_samples"]]
        assert got == want, f"stream {index}: {harness.first_difference(got, want)}"


def test_bad_windows_are_refused(binary):
    for bad in ["200ms", "1s", "soon", "auto:1ms"]:
        out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--flush-linger", bad],
                             capture_output=True, text=True, timeout=30, env=harness.server_env())
        assert out.returncode == 64, (bad, out.returncode, out.stderr)
        assert "--flush-linger" in out.stderr and "at most 100ms" in out.stderr, out.stderr
    for bad in ["0", "200ms", "soon", "-1ms"]:
        out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--flush-budget", bad],
                             capture_output=True, text=True, timeout=30, env=harness.server_env())
        assert out.returncode == 64 and "--flush-budget" in out.stderr, (bad, out.returncode, out.stderr)
    # The budget is auto's window: a fixed window beside it is refused, and so is one from the environment.
    out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--flush-linger", "5ms",
                          "--flush-budget", "2ms"], capture_output=True, text=True, timeout=30, env=harness.server_env())
    assert out.returncode == 64 and "a fixed --flush-linger (5ms) is its own window" in out.stderr, out.stderr
    out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--flush-linger", "5ms"],
                         capture_output=True, text=True, timeout=30,
                         env=harness.server_env({"TICKWIRE_FLUSH_BUDGET": "2ms"}))
    assert out.returncode == 64 and "TICKWIRE_FLUSH_BUDGET is the window" in out.stderr, out.stderr
    # A window the write-idle check could mistake for a stalled reader.
    out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--flush-linger", "100ms",
                          "--write-idle-timeout", "150ms"], capture_output=True, text=True, timeout=30,
                         env=harness.server_env())
    assert out.returncode == 64 and "more than twice --flush-linger" in out.stderr, out.stderr
    out = subprocess.run([str(binary), "--replay", str(harness.TRADES_FIXTURE), "--flush-budget", "100ms",
                          "--write-idle-timeout", "150ms"], capture_output=True, text=True, timeout=30,
                         env=harness.server_env())
    assert out.returncode == 64 and "more than twice --flush-budget (100ms)" in out.stderr, out.stderr
