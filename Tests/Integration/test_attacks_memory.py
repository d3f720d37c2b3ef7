"""Attacks on memory and on the indicator pool (issue 20, items 2 and 4), each
against a release build while a healthy client reads 2,000 trades/s, with
attack_verdict's checks (alive, 0 gaps, p99 within 2x or +20 ms of the quiet
window's, RSS within the budget), plus:

(a) 120 connections x 100 StreamPrices streams whose flow-control windows are
    zero (SETTINGS_INITIAL_WINDOW_SIZE 0, never a WINDOW_UPDATE), so nothing
    queued for them can ever leave. Without a server-wide budget every stream
    queued up to --stream-soft-limit and RSS passed the Deployment's 512Mi.
    With --max-queued-bytes (its default: half the cgroup limit, or 256 MiB)
    the largest backlogs are cut; a cut stream's queue is freed at once, and
    with its window closed it gets its trailers (grpc-status 8) and then
    RST_STREAM(NO_ERROR), so nghttp2 frees its side too. RSS stays under the
    queued-bytes budget itself and under 512 MiB.
(b) One connection with 64 streams x 64 distinct indicators takes at most
    --max-indicators-per-connection of the pool: a second client still
    subscribes during the attack.

Every wait is bounded; the zero-window attack holds for ATTACK_HOLD_S.
"""

from __future__ import annotations

import time

import h2.settings
import pytest

import h2_client
import harness
from attack_verdict import ATTACK_MIN_S, LatencyOverBound, check_latency

pytestmark = pytest.mark.attack

ATTACK_CONNECTIONS = 120
STREAMS_PER_CONNECTION = 100
ATTACK_HOLD_S = 8.0
DEPLOYMENT_LIMIT_KIB = 512 * 1024


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


def test_zero_window_streams_cannot_take_memory_past_the_budget(attack_bench):
    # The Deployment's flags: only what the test harness needs is added.
    server = attack_bench.start(extra=["--max-connections", "4096"])
    budget_bytes = attack_bench.budget_bytes
    assert budget_bytes <= DEPLOYMENT_LIMIT_KIB * 1024 // 2, budget_bytes

    def attack():
        attackers: list[h2_client.RawH2Connection] = []
        started = time.monotonic()
        try:
            for _ in range(ATTACK_CONNECTIONS):
                attackers.append(_zero_window_connection(server.port))
            opened_s = time.monotonic() - started
            time.sleep(ATTACK_HOLD_S)
            # A zero-window stream that was cut saw its status anyway: trailers with
            # RESOURCE_EXHAUSTED, then RST_STREAM(NO_ERROR) freeing the stream.
            probe = attackers[0]
            _pump(probe, 5.0)
            cut = [r for r in probe.results.values() if r.grpc_status == "8"]
            return opened_s, cut, [r for r in cut if r.reset_code == 0], list(probe.results.values())
        finally:
            for connection in attackers:
                connection.close()

    run = attack_bench.verdict("zero-window memory", attack, judge_latency=False)
    opened_s, cut, reset_after, probed = run.result
    peak_kib = run.figures.peak_rss_kib
    print(f"[zero-window memory] {ATTACK_CONNECTIONS} x {STREAMS_PER_CONNECTION} zero-window streams opened in "
          f"{opened_s:.1f}s; probe: {len(cut)} cut with status 8, {len(reset_after)} then reset; "
          f"peak RSS {peak_kib} KiB against the queued-bytes budget {budget_bytes} B")
    assert peak_kib * 1024 < budget_bytes, f"peak RSS {peak_kib} KiB is over the budget {budget_bytes} B"
    assert peak_kib < DEPLOYMENT_LIMIT_KIB, f"peak RSS {peak_kib} KiB"
    # Calls whose window never opened are conflated from 4 KiB: 12,000 of
    # them hold ~50 MiB, under the budget, and end as slow consumers after
    # --slow-consumer-timeout; either way they are cut.
    ended = server.log.matching(r"queued-bytes budget exceeded|window never opened")
    assert ended, f"the zero-window calls were neither cut by the budget nor ended as slow:\n{server.log.tail()}"
    assert cut, f"no stream of the probe connection saw grpc-status 8: {probed[0].describe()}"
    assert reset_after, "cut zero-window streams were not reset after their trailers"
    check_latency(run.figures, schedule=True)


def _grpc_frame(payload: bytes) -> bytes:
    return b"\x00" + len(payload).to_bytes(4, "big") + payload


def _take_statuses(pb, result: h2_client.H2Result, found: list) -> None:
    """Moves the SubscriptionStatus messages out of one stream's DATA bytes
    into `found`, dropping the prices read so far (the 64 streams get every
    trade: kept, their bytes would grow without end)."""
    offset, data = 0, result.data
    while offset + 5 <= len(data):
        length = int.from_bytes(data[offset + 1:offset + 5], "big")
        if offset + 5 + length > len(data):
            break
        response = pb.StreamResponse.FromString(data[offset + 5:offset + 5 + length])
        offset += 5 + length
        if response.WhichOneof("payload") == "status":
            found.append(response.status)
    result.data = data[offset:]


def test_one_connection_cannot_take_the_indicator_pool(attack_bench, grpc_channels, collectors):
    pb, _ = harness.stubs()
    server = attack_bench.start()
    types = (pb.INDICATOR_TYPE_SMA, pb.INDICATOR_TYPE_EMA, pb.INDICATOR_TYPE_RSI)
    headers = h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD)

    def attack():
        started = time.monotonic()
        statuses: list = []

        def answered() -> list:
            _pump(greedy, 0.1)
            for result in greedy.results.values():
                _take_statuses(pb, result, statuses)
            return statuses

        greedy = h2_client.RawH2Connection(server.port, timeout_s=10.0, huge_windows=True)
        try:
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
                    answered()
                greedy.open_stream(headers, body=body, end_stream=False)
            assert harness.wait_until(lambda: len(answered()) >= 64 * 64, 30.0, interval_s=0), (
                f"{len(statuses)} of 4096 requests answered\n{server.log.tail()}")

            # Another client still gets an indicator the greedy one does not hold.
            other = collectors(grpc_channels(server.target), name="other", deadline_s=30, requests=iter([
                pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol="btcusdt",
                                    type=pb.INDICATOR_TYPE_SMA, period=999, request_id="fair"),
            ]))
            other.start()

            def fair_status():
                return next((r.status for r in other.non_prices() if r.WhichOneof("payload") == "status"), None)
            assert harness.wait_until(lambda: fair_status() is not None, 10.0), other.describe_end()
            # The greedy client keeps its share (and reads) for the rest of the window.
            harness.wait_until(lambda: answered() and time.monotonic() - started >= ATTACK_MIN_S, ATTACK_MIN_S,
                               interval_s=0)
            return list(statuses), fair_status()
        finally:
            greedy.close()

    statuses, fair = attack_bench.verdict("indicator pool", attack).result
    granted = [s for s in statuses if s.code == 0]
    refused = [s for s in statuses if s.code == 8]
    print(f"[indicator pool] greedy connection: {len(granted)} granted, {len(refused)} refused; "
          f"another client's subscription: code {fair.code}")
    assert len(granted) == 256 and len(refused) == 64 * 64 - 256, (len(granted), len(refused))
    assert "--max-indicators-per-connection" in refused[0].message, refused[0].message
    assert fair.code == 0, fair
