"""Attacks on memory and on the indicator pool (issue 20, items 2 and 4).

(a) 120 connections x 100 StreamPrices streams whose flow-control windows are
    zero (SETTINGS_INITIAL_WINDOW_SIZE 0, never a WINDOW_UPDATE), so nothing
    queued for them can ever leave. Without a server-wide budget every stream
    queued up to --stream-soft-limit and RSS passed the Deployment's 512Mi.
    With --max-queued-bytes (its default: half the cgroup limit, or 256 MiB)
    the largest backlogs are cut; a cut stream's queue is freed at once, and
    with its window closed it gets its trailers (grpc-status 8) and then
    RST_STREAM(NO_ERROR), so nghttp2 frees its side too. A healthy grpcio
    client reading a replay at 2,000 trades/s meanwhile misses nothing.
(b) One connection with 64 streams x 64 distinct indicators takes at most
    --max-indicators-per-connection of the pool: a second client still
    subscribes.

Every wait is bounded; the attack holds for ATTACK_HOLD_S.
"""

from __future__ import annotations

import threading
import time

import h2.settings

import h2_client
import harness
from harness import metadata_int, metadata_str

import sys
sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
from fanout_soak import looped_replay  # noqa: E402

RECORDED_TRADES_PER_S = harness.FIXTURE_TRADE_COUNT / 346.0
HEALTHY_TRADES_PER_S = 2000
ATTACK_CONNECTIONS = 120
STREAMS_PER_CONNECTION = 100
ATTACK_HOLD_S = 12.0
DEPLOYMENT_LIMIT_KIB = 512 * 1024
BUDGET_RE = r"\bqueued-bytes budget\s*$"


class _RSSSampler:
    """The server's VmRSS every 20 ms on a thread, keeping the peak."""

    def __init__(self, server) -> None:
        self.server = server
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rss = self.server.rss_kib()
            if rss is None:
                return
            self.peak_kib = max(self.peak_kib, rss)
            self.samples += 1

    def __enter__(self) -> "_RSSSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)


def _zero_window_connection(port: int) -> h2_client.RawH2Connection:
    """A connection whose every stream starts with a zero window: SETTINGS
    before the first HEADERS, so the server never has a byte of credit."""
    connection = h2_client.RawH2Connection(port, timeout_s=10.0, recv_buffer_bytes=4096)
    connection.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    connection.flush()
    headers = h2_client.request_headers(port, path=harness.STREAM_PRICES_METHOD)
    for _ in range(STREAMS_PER_CONNECTION):
        stream_id = connection.conn.get_next_available_stream_id()
        connection.results[stream_id] = h2_client.H2Result()
        connection.conn.send_headers(stream_id, headers, end_stream=False)
    connection.flush()
    return connection


def _pump(connection: h2_client.RawH2Connection, timeout_s: float) -> None:
    """Reads what the server sent until the socket is quiet or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(r.trailers is not None or r.reset_code is not None or r.connection_closed
               for r in connection.results.values()):
            return
        connection.sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            chunk = connection.sock.recv(65_536)
        except TimeoutError:
            continue
        except ConnectionError:
            chunk = b""
        if not chunk:
            return
        connection._handle(connection.conn.receive_data(chunk))
        connection.flush()


def test_zero_window_streams_cannot_take_memory_past_the_budget(start_server, grpc_channels, collectors, tmp_path):
    replay = looped_replay(4, tmp_path)  # ~63,000 trades: ~31 s at 2,000 trades/s
    expected = harness.trades_in(replay.read_text().splitlines())
    speed = HEALTHY_TRADES_PER_S / RECORDED_TRADES_PER_S
    # The Deployment's flags: only what the test harness needs is added.
    server = start_server(replay=replay, speed=f"{speed:.2f}", wait_streams=1,
                          extra=["--log-level", "info", "--max-connections", "4096"])
    _, budget_line = server.log.wait_for(BUDGET_RE, 5.0)
    budget_bytes = metadata_int(budget_line, "bytes")
    assert budget_bytes <= DEPLOYMENT_LIMIT_KIB * 1024 // 2, budget_line
    rss_before = server.rss_kib()

    healthy = collectors(grpc_channels(server.target), name="healthy", deadline_s=90).start()
    # The replay waits for one stream: it must be the healthy one, not an attacker's.
    assert healthy.wait_count(1, 10.0), healthy.describe_end()
    received_before = len(healthy.prices())
    attackers: list[h2_client.RawH2Connection] = []
    started = time.monotonic()
    try:
        with _RSSSampler(server) as rss:
            for _ in range(ATTACK_CONNECTIONS):
                attackers.append(_zero_window_connection(server.port))
            opened_s = time.monotonic() - started
            time.sleep(ATTACK_HOLD_S)
            assert server.alive(), server.log.tail()
            received_during = len(healthy.prices())
        # A zero-window stream that was cut saw its status anyway: trailers with
        # RESOURCE_EXHAUSTED, then RST_STREAM(NO_ERROR) freeing the stream.
        probe = attackers[0]
        _pump(probe, 5.0)
        cut = [r for r in probe.results.values() if r.grpc_status == "8"]
        reset_after = [r for r in cut if r.reset_code == 0]
    finally:
        for connection in attackers:
            connection.close()

    prices = healthy.prices()
    got = [harness.trade_from_update(item.response.price) for item in prices]
    print(f"\nbudget {budget_bytes} B ({metadata_str(budget_line, 'source')}); RSS before {rss_before} KiB, "
          f"peak {rss.peak_kib} KiB over {rss.samples} samples; {len(attackers)} x {STREAMS_PER_CONNECTION} "
          f"zero-window streams opened in {opened_s:.1f}s; probe: {len(cut)} cut with status 8, "
          f"{len(reset_after)} then reset; healthy got {len(got)} prices")
    assert got == expected[:len(got)], harness.first_difference(got, expected[:len(got)])
    # Progress, not pace: a debug build on shared cores cannot fan 2,000
    # trades/s out to 12,000 streams until the budget has cut them.
    assert received_during > received_before, (
        f"the healthy client got nothing during the attack ({received_during} prices); {healthy.describe_end()}")
    assert rss.peak_kib * 1024 < budget_bytes, f"peak RSS {rss.peak_kib} KiB is over the budget {budget_bytes} B"
    assert rss.peak_kib < DEPLOYMENT_LIMIT_KIB, f"peak RSS {rss.peak_kib} KiB"
    assert server.log.matching(r"queued-bytes budget exceeded"), f"the budget was never reached:\n{server.log.tail()}"
    assert cut, f"no stream of the probe connection saw grpc-status 8: {list(probe.results.values())[0].describe()}"
    assert reset_after, "cut zero-window streams were not reset after their trailers"


def _grpc_frame(payload: bytes) -> bytes:
    return b"\x00" + len(payload).to_bytes(4, "big") + payload


def _statuses(pb, data: bytes) -> list:
    """The SubscriptionStatus messages in one stream's DATA bytes."""
    found, offset = [], 0
    while offset + 5 <= len(data):
        length = int.from_bytes(data[offset + 1:offset + 5], "big")
        if offset + 5 + length > len(data):
            break
        response = pb.StreamResponse.FromString(data[offset + 5:offset + 5 + length])
        offset += 5 + length
        if response.WhichOneof("payload") == "status":
            found.append(response.status)
    return found


def test_one_connection_cannot_take_the_indicator_pool(start_server, grpc_channels, collectors):
    pb, _ = harness.stubs()
    server = start_server(replay=harness.TRADES_FIXTURE, speed="1", wait_streams=0,
                          extra=["--log-level", "info"])
    greedy = h2_client.RawH2Connection(server.port, timeout_s=10.0, huge_windows=True)
    types = (pb.INDICATOR_TYPE_SMA, pb.INDICATOR_TYPE_EMA, pb.INDICATOR_TYPE_RSI)
    headers = h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD)
    # 64 streams x 64 subscriptions, 4,096 distinct (symbol, type, period): the whole default pool.
    for stream in range(64):
        requests = [pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE,
                                        symbol=("btcusdt", "ethusdt")[n % 2], type=types[(n // 2) % 3],
                                        period=2 + stream * 11 + n // 6, request_id=f"{stream}-{n}")
                    for n in range(64)]
        body = b"".join(_grpc_frame(r.SerializeToString()) for r in requests)
        # The connection's 64 KiB send window takes about 40 streams' requests:
        # read the server's WINDOW_UPDATEs before sending more.
        deadline = time.monotonic() + 10.0
        while greedy.conn.outbound_flow_control_window < len(body) and time.monotonic() < deadline:
            _pump(greedy, 0.2)
        greedy.open_stream(headers, body=body, end_stream=False)
    try:
        def answered() -> list:
            _pump(greedy, 0.3)
            return [s for r in greedy.results.values() for s in _statuses(pb, r.data)]
        assert harness.wait_until(lambda: len(answered()) >= 64 * 64, 30.0), (
            f"{len(answered())} of 4096 requests answered\n{server.log.tail()}")
        statuses = answered()
        granted = [s for s in statuses if s.code == 0]
        refused = [s for s in statuses if s.code == 8]
        assert len(granted) == 256 and len(refused) == 64 * 64 - 256, (len(granted), len(refused))
        assert "--max-indicators-per-connection" in refused[0].message, refused[0].message

        # Another client still gets an indicator the greedy one does not hold.
        other = collectors(grpc_channels(server.target), name="other", deadline_s=30, requests=iter([
            pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol="btcusdt",
                                type=pb.INDICATOR_TYPE_SMA, period=999, request_id="fair"),
        ])).start()

        def fair_status():
            return next((r.status for r in other.non_prices() if r.WhichOneof("payload") == "status"), None)
        assert harness.wait_until(lambda: fair_status() is not None, 10.0), other.describe_end()
        assert fair_status().code == 0, fair_status()
    finally:
        greedy.close()
