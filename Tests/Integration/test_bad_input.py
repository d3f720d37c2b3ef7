"""Bad gRPC input and connection bounds: each is answered on its own stream
(or its own connection), and nobody else notices.

Every test runs its bad client on a raw HTTP/2 connection (the `h2` library,
so the request is exactly what the test says) while a healthy grpcio client
streams a 20x replay; the healthy client must keep receiving every trade, in
order. For the lead's figures each test prints (pytest -s) the healthy
client's p99 ingest-to-receive latency and the server's RSS before and at its
peak, as test_http2_abuse.py does.

Already covered elsewhere, and not repeated here: an oversized header list
(test_http2_abuse.py, HTTP 431 / RESOURCE_EXHAUSTED on its stream), HTTP/1.1,
random bytes and a TLS ClientHello on the h2c port (test_http2_abuse.py,
closed), a request that is not protobuf (test_indicators.py,
INVALID_ARGUMENT) and a message over 4 MiB sent by grpcio
(test_grpc_semantics.py, RESOURCE_EXHAUSTED). The raw-frame variants of the
last two are here as well, under attack.

Every loop is bounded in count and every read by a deadline.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

import grpc
import h2.settings
import pytest

import h2_client
import harness
from test_http2_abuse import RSSSampler, under_attack

OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = "0", "3", "4", "8", "12", "13"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"
SLOW_LOG = r"stream too slow; ending it\"?\s*$"
WRITE_IDLE_LOG = r"write idle; closing the connection\"?\s*$"


def grpc_message(payload: bytes, compressed: bool = False) -> bytes:
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def start_healthy(start_server, grpc_channels, collectors, extra=()):
    """(server, collector): a 20x replay held until the healthy stream opens."""
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1, extra=list(extra))
    collector = collectors(grpc_channels(server.target), name="healthy", deadline_s=90).start()
    assert collector.wait_count(20, 15.0), f"healthy stream got no prices: {collector.describe_end()}"
    return server, collector


@pytest.fixture
def healthy(start_server, grpc_channels, collectors):
    return start_healthy(start_server, grpc_channels, collectors)


def prices_request(port: int, extra: list[tuple[str, str]] = (), path: str = harness.STREAM_PRICES_METHOD):
    return h2_client.request_headers(port, path=path) + list(extra)


def then_health_check(connection: h2_client.RawH2Connection, port: int) -> h2_client.H2Result:
    """A Health.Check on the same connection: the bad stream must not have hurt it."""
    check = connection.open_stream(h2_client.request_headers(port, path=HEALTH_CHECK),
                                   body=h2_client.EMPTY_GRPC_MESSAGE)
    return connection.pump_until_done(check, 5.0)


# --------------------------------------------------------------------------
# (1) Compression, grpc-timeout syntax, and the answers that already held
# --------------------------------------------------------------------------

BAD_REQUESTS = [
    # name, extra headers, body, want grpc-status, words the grpc-message must hold
    ("compressed flag, no grpc-encoding", [], grpc_message(b"\x08\x01", compressed=True),
     INTERNAL, "compressed flag"),
    ("compressed flag, grpc-encoding identity", [("grpc-encoding", "identity")],
     grpc_message(b"\x08\x01", compressed=True), INTERNAL, "compressed flag"),
    ("grpc-encoding gzip", [("grpc-encoding", "gzip")], grpc_message(b"\x08\x01", compressed=True),
     UNIMPLEMENTED, "grpc-encoding 'gzip'"),
    ("grpc-encoding garbage", [("grpc-encoding", "x-n0t;an encoding")], grpc_message(b""),
     UNIMPLEMENTED, "is not supported"),
    ("grpc-timeout without a unit", [("grpc-timeout", "100")], None, INTERNAL, "malformed grpc-timeout"),
    ("grpc-timeout of 9 digits", [("grpc-timeout", "123456789S")], None, INTERNAL, "malformed grpc-timeout"),
    ("grpc-timeout in Go syntax", [("grpc-timeout", "1s")], None, INTERNAL, "malformed grpc-timeout"),
    ("grpc-timeout empty", [("grpc-timeout", "")], None, INTERNAL, "malformed grpc-timeout"),
    ("grpc-timeout negative", [("grpc-timeout", "-1S")], None, INTERNAL, "malformed grpc-timeout"),
    ("not protobuf", [], grpc_message(b"\xff"), INVALID_ARGUMENT, "not a valid"),
    ("message over 4 MiB", [], struct.pack(">BI", 0, 5 * 1024 * 1024) + b"\x00" * 1024,
     RESOURCE_EXHAUSTED, "exceeds the limit"),
]


@pytest.mark.parametrize("name, extra, body, want, words", BAD_REQUESTS, ids=[case[0] for case in BAD_REQUESTS])
def test_bad_request_is_answered_on_its_stream_only(healthy, expected_trades, name, extra, body, want, words):
    server, collector = healthy

    def attack():
        connection = h2_client.RawH2Connection(server.port, timeout_s=5.0)
        try:
            stream_id = connection.open_stream(prices_request(server.port, extra), body=body, end_stream=False)
            bad = connection.pump_until_done(stream_id, 5.0)
            return bad, then_health_check(connection, server.port)
        finally:
            connection.close()

    bad, check = under_attack(name, server, collector, expected_trades, attack)
    print(f"[{name}] answer: {bad.describe()}")
    assert bad.grpc_status == want and not bad.timed_out, f"{name}: want grpc-status {want}: {bad.describe()}"
    assert bad.http_status == "200", bad.describe()
    final = bad.trailers if bad.trailers is not None else bad.headers
    assert words in final.get("grpc-message", ""), bad.describe()
    assert bad.headers.get("grpc-accept-encoding") == "identity", bad.describe()
    assert check.grpc_status == OK and not check.connection_closed, (
        f"{name}: the connection was not usable afterwards: {check.describe()}")


def test_unsupported_encoding_is_refused_at_the_headers(healthy, expected_trades):
    """Trailers-Only, as grpc-go does: no DATA, and the refusal says what we accept."""
    server, collector = healthy

    def attack():
        headers = prices_request(server.port, [("grpc-encoding", "gzip")])
        return h2_client.exchange(server.port, headers, body=None, timeout_s=5.0)

    result = under_attack("gzip at the headers", server, collector, expected_trades, attack)
    assert result.trailers is None and result.data == b"", result.describe()
    assert result.headers.get("grpc-status") == UNIMPLEMENTED, result.describe()
    assert result.headers.get("grpc-accept-encoding") == "identity", result.describe()


def test_normal_response_headers_advertise_identity(start_server):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=0)
    connection = h2_client.RawH2Connection(server.port, timeout_s=5.0)
    try:
        check = then_health_check(connection, server.port)
    finally:
        connection.close()
    assert check.grpc_status == OK, check.describe()
    assert check.headers.get("grpc-accept-encoding") == "identity", check.describe()


# --------------------------------------------------------------------------
# (2) grpc-timeout is honoured by the server
# --------------------------------------------------------------------------

def timed_call(port: int, headers, body=None, timeout_s: float = 6.0) -> tuple[h2_client.H2Result, float]:
    """Opens one call on a raw connection that reads (and credits) everything;
    returns how it ended and after how many seconds."""
    connection = h2_client.RawH2Connection(port, timeout_s=timeout_s)
    try:
        started = time.monotonic()
        stream_id = connection.open_stream(headers, body=body, end_stream=False)
        result = connection.pump_until_done(stream_id, timeout_s)
        return result, time.monotonic() - started
    finally:
        connection.close()


@pytest.mark.parametrize("path", [harness.STREAM_PRICES_METHOD, HEALTH_WATCH])
def test_server_ends_the_call_at_its_grpc_timeout(healthy, expected_trades, path):
    server, collector = healthy
    body = None if path == harness.STREAM_PRICES_METHOD else h2_client.EMPTY_GRPC_MESSAGE

    def attack():
        return timed_call(server.port, prices_request(server.port, [("grpc-timeout", "500m")], path=path), body)

    (result, seconds) = under_attack(f"grpc-timeout 500m on {path}", server, collector, expected_trades, attack)
    print(f"[grpc-timeout] {path}: ended after {seconds:.3f}s: {result.describe()[:200]}")
    # The server's own status, in its trailers: not the client's local deadline.
    assert result.trailers is not None and result.trailers.get("grpc-status") == DEADLINE_EXCEEDED, result.describe()
    assert "grpc-timeout" in result.trailers.get("grpc-message", ""), result.describe()
    assert 0.45 <= seconds < 2.0, f"ended after {seconds:.3f}s, want about 0.5s"
    if path == harness.STREAM_PRICES_METHOD:
        assert len(result.data) > 0, "no prices before the deadline"


@pytest.mark.parametrize("duration, timeout, want, want_s", [
    ("300ms", "5S", OK, 0.3),                   # the client's own bound first: OK
    ("5s", "300m", DEADLINE_EXCEEDED, 0.3),     # the deadline first
])
def test_earlier_of_stream_duration_and_grpc_timeout_wins(start_server, duration, timeout, want, want_s):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=0)
    headers = prices_request(server.port, [("grpc-timeout", timeout), ("tickwire-stream-duration", duration)])
    result, seconds = timed_call(server.port, headers)
    assert result.trailers is not None and result.trailers.get("grpc-status") == want, result.describe()
    assert want_s - 0.05 <= seconds < want_s + 1.5, f"ended after {seconds:.3f}s, want about {want_s}s"


def test_grpcio_timeout_gets_deadline_exceeded(start_server, grpc_channels):
    pb, pb_grpc = harness.stubs()
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=0)
    stub = pb_grpc.PriceStreamStub(grpc_channels(server.target))
    started = time.monotonic()
    call = stub.StreamPrices(iter([]), timeout=1.0)
    received = 0
    with pytest.raises(grpc.RpcError) as raised:
        for _ in call:  # bounded by the 1 s deadline
            received += 1
    seconds = time.monotonic() - started
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, raised.value
    assert 0.9 <= seconds < 3.0 and received > 0, (seconds, received)


# --------------------------------------------------------------------------
# (3) --connection-hard-limit: one connection's streams together
# --------------------------------------------------------------------------

SOFT_LIMIT = 64 * 1024
CONNECTION_LIMIT = 128 * 1024
STALLED_STREAMS = 4
RSS_GROWTH_LIMIT_KIB = 64 * 1024


def test_connection_over_its_limit_loses_its_largest_streams(start_server, grpc_channels, collectors,
                                                            expected_trades):
    """Four StreamPrices streams on one connection that is never read. Each
    stream alone stays under its limits (conflated at the soft limit), but
    together they pass --connection-hard-limit: the largest end with
    RESOURCE_EXHAUSTED until the rest fit."""
    server, collector = start_healthy(start_server, grpc_channels, collectors, extra=[
        "--stream-soft-limit", str(SOFT_LIMIT), "--connection-hard-limit", str(CONNECTION_LIMIT)])

    def attack():
        stalled = h2_client.RawH2Connection(server.port, huge_windows=True, recv_buffer_bytes=4096)
        try:
            ids = [stalled.open_stream(prices_request(server.port), end_stream=False)
                   for _ in range(STALLED_STREAMS)]
            since = server.log.count()
            _, line = server.log.wait_for(SLOW_LOG, 20.0, since)
            # Then read for a while: the rest of the message on the wire, then
            # each ended stream's trailers (its unsent backlog was dropped).
            # Streams still open stay open, so one deadline bounds them all.
            deadline = time.monotonic() + 4.0
            results = [stalled.pump_until_done(stream_id, deadline - time.monotonic()) for stream_id in ids]
            return line, results
        finally:
            stalled.close()

    rss_before = server.rss_kib()
    with RSSSampler(server) as rss:
        line, results = under_attack("connection limit", server, collector, expected_trades, attack)
    ended = [r for r in results if r.grpc_status is not None]
    print(f"[connection limit] first log line: {line}\n[connection limit] "
          + "; ".join(f"stream {i}: {r.grpc_status} {(r.trailers or {}).get('grpc-message')}"
                      for i, r in enumerate(results)))
    assert f"connection over {CONNECTION_LIMIT} bytes" in line, line
    assert ended, "no stalled stream ended"
    for result in ended:
        assert result.grpc_status == RESOURCE_EXHAUSTED, result.describe()
        assert f"connection over {CONNECTION_LIMIT} bytes" in result.trailers.get("grpc-message", ""), result.describe()
    # Each stream alone is under the soft limit when the connection passes
    # its limit, so only the connection bound can have ended them; at least
    # one stream is left once the rest fit.
    assert 1 <= len(ended) < STALLED_STREAMS, [r.describe() for r in results]
    assert rss.peak_kib - rss_before < RSS_GROWTH_LIMIT_KIB, (rss_before, rss.peak_kib)


# --------------------------------------------------------------------------
# (4) --write-idle-timeout: output waiting, none of it taken
# --------------------------------------------------------------------------

WRITE_IDLE_S = 2.0


def zero_window_connection(port: int) -> h2_client.RawH2Connection:
    """A client whose streams open with a zero flow-control window and that
    never sends WINDOW_UPDATE: the server can send headers, never data."""
    connection = h2_client.RawH2Connection(port, timeout_s=10.0)
    connection.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    connection.flush()
    return connection


def unread_socket_connection(port: int) -> h2_client.RawH2Connection:
    """A client that grants every window but never reads its socket."""
    return h2_client.RawH2Connection(port, timeout_s=10.0, huge_windows=True, recv_buffer_bytes=4096)


def wait_closed(sock: socket.socket, timeout_s: float) -> bool:
    """Reads (and drops) until EOF or a reset; False when `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:  # bounded by the deadline
        sock.settimeout(remaining)
        try:
            if not sock.recv(65_536):
                return True
        except socket.timeout:
            return False
        except ConnectionError:
            return True
    return False


def stall_and_wait(server, connect, at_most_s: float, read: bool):
    """The attack: a stalled client opens StreamPrices streams and waits for
    the server to close it. `read`: keep reading (a zero-window client may:
    reading grants no window); otherwise wait for the log line first."""
    def attack():
        stalled = connect(server.port)
        try:
            since = server.log.count()
            started = time.monotonic()
            # Several streams fill the socket buffers sooner.
            for _ in range(STALLED_STREAMS):
                stalled.open_stream(prices_request(server.port), end_stream=False)
            if read:
                closed = wait_closed(stalled.sock, at_most_s + 1.0)
            else:
                server.log.wait_for(WRITE_IDLE_LOG, at_most_s + 1.0, since)
                closed = wait_closed(stalled.sock, 5.0)
            return closed, time.monotonic() - started, since
        finally:
            stalled.close()
    return attack


def check_write_idle_close(name: str, server, outcome, at_most_s: float) -> None:
    closed, seconds, since = outcome
    _, line = server.log.wait_for(WRITE_IDLE_LOG, 2.0, since)
    print(f"[{name}] closed={closed} after {seconds:.2f}s: {line}")
    assert closed, f"{name}: the connection was not closed"
    assert harness.metadata_int(line, "idle_ms") >= WRITE_IDLE_S * 1000, line
    assert WRITE_IDLE_S <= seconds <= at_most_s + 1.0, f"{name}: closed after {seconds:.2f}s"


def test_zero_window_connection_is_closed_after_the_write_idle_timeout(start_server, grpc_channels, collectors,
                                                                        expected_trades):
    """Nothing but headers ever leaves: closed between the timeout and the
    timeout plus two sweeps (a quarter of it each)."""
    server, collector = start_healthy(start_server, grpc_channels, collectors,
                                      extra=["--write-idle-timeout", f"{WRITE_IDLE_S}s"])
    at_most_s = WRITE_IDLE_S * 1.5 + 0.5
    attack = stall_and_wait(server, zero_window_connection, at_most_s, read=True)
    outcome = under_attack("write idle, zero window", server, collector, expected_trades, attack)
    check_write_idle_close("write idle, zero window", server, outcome, at_most_s)


UNREAD_TRADES_PER_S = 4000
RECORDED_TRADES_PER_S = harness.FIXTURE_TRADE_COUNT / 346.0


def test_unread_connection_is_closed_once_its_socket_is_full(start_server, grpc_channels, collectors, tmp_path):
    """A client that never reads its socket: the kernel takes a few MiB
    first (send buffer autotuning), so the trades come faster here (a looped
    fixture) to fill it within seconds; then nothing leaves for the timeout."""
    sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
    from fanout_soak import looped_replay

    replay = looped_replay(4, tmp_path)
    expected = harness.trades_in(replay.read_text().splitlines())
    server = start_server(replay=replay, speed=f"{UNREAD_TRADES_PER_S / RECORDED_TRADES_PER_S:.2f}", wait_streams=1,
                          extra=["--write-idle-timeout", f"{WRITE_IDLE_S}s"])
    collector = collectors(grpc_channels(server.target), name="healthy", deadline_s=90).start()
    assert collector.wait_count(20, 15.0), f"healthy stream got no prices: {collector.describe_end()}"
    at_most_s = 12.0
    attack = stall_and_wait(server, unread_socket_connection, at_most_s, read=False)
    outcome = under_attack("write idle, unread socket", server, collector, expected, attack)
    check_write_idle_close("write idle, unread socket", server, outcome, at_most_s)


def test_write_idle_check_can_be_turned_off(start_server):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=0,
                          extra=["--write-idle-timeout", "0"])
    stalled = zero_window_connection(server.port)
    try:
        stalled.open_stream(prices_request(server.port), end_stream=False)
        assert not wait_closed(stalled.sock, 3.0), "closed although --write-idle-timeout is 0"
    finally:
        stalled.close()
    assert not server.log.matching(WRITE_IDLE_LOG)


def test_bad_connection_bound_flags_are_refused():
    import subprocess
    for args, message in [
        (["--connection-hard-limit", "1000"], "--connection-hard-limit must be at least --stream-soft-limit"),
        (["--write-idle-timeout", "soon"], "--write-idle-timeout 'soon'"),
        (["--write-idle-timeout", "5ms"], "--write-idle-timeout '5ms'"),
    ]:
        result = subprocess.run(harness.server_argv(replay=harness.TRADES_FIXTURE) + args,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
