"""gRPC and HTTP/2 semantics: health, unknown methods, half-close, bad requests, limits."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import h2_client
import harness

SERVING = health_pb2.HealthCheckResponse.SERVING
CALL_TIMEOUT_S = 5.0


def paced_server(start_server, speed: str = "1"):
    """A server replaying the fixture at a gentle pace from startup."""
    return start_server(replay=harness.TRADES_FIXTURE, speed=speed, wait_streams=0)


def assert_server_still_serves(server, make_channel, make_collector) -> None:
    """The process is up, Health answers SERVING and a new stream gets prices."""
    assert server.alive(), f"server exited with {server.proc.poll()}:\n{server.log.tail()}"
    chan = make_channel(server.target)
    health = health_pb2_grpc.HealthStub(chan)
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT_S).status == SERVING
    collector = make_collector(chan, name="after", deadline_s=30).start()
    # The paced replay's longest recorded gap is ~1.1 s.
    assert collector.wait_count(3, 10.0), f"no prices on a fresh stream: {collector.describe_end()}"


# --- 2. Health -------------------------------------------------------------

def test_health_check_reports_serving(start_server, grpc_channels):
    server = paced_server(start_server)
    stub = health_pb2_grpc.HealthStub(grpc_channels(server.target))
    response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT_S)
    assert response.status == SERVING, response


def test_health_watch_sends_serving_first(start_server, grpc_channels):
    server = paced_server(start_server)
    stub = health_pb2_grpc.HealthStub(grpc_channels(server.target))
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=CALL_TIMEOUT_S + 5)
    try:
        first = next(watch)
        assert first.status == SERVING, first
    finally:
        watch.cancel()


# --- 3. Unknown methods ----------------------------------------------------

UNKNOWN_METHODS = ["/tickwire.v1.PriceStream/Nope", "/no.Such/Service",
                   "/grpc.health.v1.Health/Nope"]


@pytest.mark.parametrize("method", UNKNOWN_METHODS)
def test_unknown_unary_method_is_unimplemented(start_server, grpc_channels, collectors, method):
    server = paced_server(start_server)
    chan = grpc_channels(server.target)
    call = chan.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as raised:
        call(b"", timeout=CALL_TIMEOUT_S)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED, (
        f"{method}: {raised.value.code()} {raised.value.details()!r}")
    assert_server_still_serves(server, grpc_channels, collectors)


@pytest.mark.parametrize("method", UNKNOWN_METHODS[:2])
def test_unknown_streaming_method_is_unimplemented(start_server, grpc_channels, method):
    server = paced_server(start_server)
    chan = grpc_channels(server.target)
    call = chan.stream_stream(method, request_serializer=None, response_deserializer=None)
    responses = call(iter([b"", b"\x08\x01"]), timeout=CALL_TIMEOUT_S)
    with pytest.raises(grpc.RpcError) as raised:
        for _ in range(1000):  # bounded: an UNIMPLEMENTED call yields nothing
            next(responses)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED, (
        f"{method}: {raised.value.code()} {raised.value.details()!r}")


# --- 4. Half-close ---------------------------------------------------------

def test_half_closed_stream_keeps_receiving_prices(start_server, grpc_channels, collectors,
                                                   expected_trades):
    # 20x the recorded pace: ~900 trades/s, ~17 s for the whole fixture.
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1)
    half_closed_at: list[float] = []

    def no_requests():
        # grpcio half-closes (END_STREAM) as soon as this iterator is exhausted.
        half_closed_at.append(time.monotonic())
        return
        yield  # pragma: no cover - makes this a generator

    collector = collectors(grpc_channels(server.target), name="half-closed",
                           requests=no_requests(), deadline_s=60).start()
    assert harness.wait_until(lambda: half_closed_at, 10.0), "request iterator never consumed"
    observe_until = time.monotonic() + 4.0
    while time.monotonic() < observe_until and not collector.finished:
        time.sleep(0.1)

    assert not collector.finished, f"stream ended after half-close: {collector.describe_end()}"
    prices = collector.prices()
    after = [item for item in prices if item.recv_mono > half_closed_at[0] + 0.5]
    assert len(after) >= 200, (f"only {len(after)} prices arrived more than 0.5 s after the "
                               f"half-close ({len(prices)} in total)")
    span = after[-1].recv_mono - after[0].recv_mono
    assert span > 1.0, f"prices after the half-close span only {span:.2f} s"
    got = [harness.trade_from_update(item.response.price) for item in prices]
    assert got == expected_trades[:len(got)], harness.first_difference(got, expected_trades[:len(got)])


# --- 9. Bad requests and limits --------------------------------------------

def test_get_request_gets_an_error_status(start_server, grpc_channels, collectors):
    server = paced_server(start_server)
    result = h2_client.exchange(server.port, h2_client.request_headers(server.port, method="GET"))
    assert result.headers is not None, f"no response to GET: {result.describe()}"
    if result.http_status == "200":
        assert result.grpc_status not in (None, "0"), f"GET answered as success: {result.describe()}"
    else:
        assert result.http_status is not None and result.http_status.isdigit(), result.describe()
        assert int(result.http_status) >= 400, f"GET: {result.describe()}"
    assert_server_still_serves(server, grpc_channels, collectors)


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_wrong_content_type_is_rejected(start_server, grpc_channels, collectors, content_type):
    server = paced_server(start_server)
    headers = h2_client.request_headers(server.port, content_type=content_type)
    result = h2_client.exchange(server.port, headers, body=h2_client.EMPTY_GRPC_MESSAGE)
    assert result.headers is not None, f"no response for content-type {content_type}: {result.describe()}"
    # gRPC over HTTP/2: a server SHOULD answer a non-gRPC content-type with 415.
    ok = result.http_status == "415" or (
        result.http_status == "200" and result.grpc_status not in (None, "0")) or (
        result.http_status not in (None, "200") and int(result.http_status) >= 400)
    assert ok, f"content-type {content_type!r} accepted: {result.describe()}"
    assert_server_still_serves(server, grpc_channels, collectors)


def test_message_over_4_mib_gets_resource_exhausted(start_server, grpc_channels, collectors):
    pb, pb_grpc = harness.stubs()
    server = paced_server(start_server)
    chan = grpc_channels(server.target, [("grpc.max_send_message_length", 64 * 1024 * 1024)])
    big = pb.IndicatorRequest(symbol="BTCUSDT", request_id="x" * (4 * 1024 * 1024 + 1024))
    assert big.ByteSize() > 4 * 1024 * 1024
    release = threading.Event()
    responses = pb_grpc.PriceStreamStub(chan).StreamPrices(
        harness.held_open_requests(release, 20.0, first=[big]), timeout=15)
    received = 0
    try:
        with pytest.raises(grpc.RpcError) as raised:
            for _ in responses:  # prices may arrive before the status; the deadline bounds this
                received += 1
    finally:
        release.set()
        responses.cancel()
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (
        f"{raised.value.code()} {raised.value.details()!r} after {received} responses")
    # grpcio also maps RST_STREAM(ENHANCE_YOUR_CALM) to RESOURCE_EXHAUSTED; the
    # server must answer with a grpc-status instead.
    assert "RST_STREAM" not in (raised.value.details() or ""), raised.value.details()
    assert_server_still_serves(server, grpc_channels, collectors)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def padded_request(total_bytes: int) -> bytes:
    """The largest serialized IndicatorRequest of at most `total_bytes` (within
    a byte or two), padded with an unknown length-delimited field (99) that a
    proto3 parser must skip."""
    pb, _ = harness.stubs()
    head = pb.IndicatorRequest(symbol="BTCUSDT", request_id="padded").SerializeToString()
    tag = varint((99 << 3) | 2)
    pad = total_bytes - len(head) - len(tag) - 1
    while len(body := head + tag + varint(pad) + b"p" * pad) > total_bytes:
        pad -= 1
    assert total_bytes - len(body) <= 4 and pb.IndicatorRequest.FromString(body).symbol == "BTCUSDT"
    return body


@pytest.mark.parametrize("size", [4 * 1024 * 1024 - 16, 1024 * 1024 + 7])
def test_large_request_under_the_limit_is_accepted(start_server, grpc_channels, collectors, size):
    """Requests up to 4 MiB, spread over many DATA frames, are reassembled and
    do not end the stream (the padding is an unknown field, so nothing large is echoed)."""
    server = start_server(replay=harness.TRADES_FIXTURE, speed="10", wait_streams=1)
    chan = grpc_channels(server.target, [("grpc.max_send_message_length", 64 * 1024 * 1024)])
    request = padded_request(size)
    release = threading.Event()
    collector = collectors(chan, name="big-ok", deadline_s=60, raw_requests=True,
                           requests=harness.held_open_requests(release, 60.0, first=[request])).start()
    assert collector.wait_count(50, 15.0), f"{len(request)}-byte request: {collector.describe_end()}"
    observe_until = time.monotonic() + 2.0
    while time.monotonic() < observe_until and not collector.finished:
        time.sleep(0.1)
    assert not collector.finished, (
        f"a {len(request)}-byte request (under 4 MiB) ended the stream: {collector.describe_end()}")
    assert len(collector.prices()) >= 50
    assert server.alive()


def test_long_request_id_under_the_limit_does_not_end_the_stream(start_server, grpc_channels,
                                                                  collectors):
    """A legal (< 4 MiB) request whose request_id is ~4 MiB long. The server
    echoes request_id in its SubscriptionStatus; whatever it answers, the
    stream must not be reset: the client is not slow and sent nothing illegal."""
    pb, _ = harness.stubs()
    server = start_server(replay=harness.TRADES_FIXTURE, speed="10", wait_streams=1)
    chan = grpc_channels(server.target, [("grpc.max_send_message_length", 64 * 1024 * 1024),
                                         ("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    request = pb.IndicatorRequest(symbol="BTCUSDT", request_id="y" * (4 * 1024 * 1024 - 128))
    assert request.ByteSize() < 4 * 1024 * 1024
    release = threading.Event()
    collector = collectors(chan, name="long-id", deadline_s=60,
                           requests=harness.held_open_requests(release, 60.0, first=[request])).start()
    observe_until = time.monotonic() + 5.0
    while time.monotonic() < observe_until and not collector.finished:
        time.sleep(0.1)
    assert not collector.finished, (
        f"a {request.ByteSize()}-byte request (under 4 MiB) with a long request_id ended the stream: "
        f"{collector.describe_end()}; server log:\n{server.log.tail(5)}")
    assert len(collector.prices()) >= 50
