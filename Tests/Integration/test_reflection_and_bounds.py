"""Server reflection (grpc.reflection.v1 and v1alpha) and client-bounded
StreamPrices streams (`tickwire-stream-duration`, `tickwire-stream-messages`).

The reflection clients here know no .proto file: every message class they use
is built from descriptors the server sent.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import grpc
import pytest
from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

import harness

CALL_TIMEOUT_S = 10.0
STREAM_PRICES = "/tickwire.v1.PriceStream/StreamPrices"
PRICE_STREAM_FILE = "tickwire/v1/price_stream.proto"
SERVED_SERVICES = {
    "tickwire.v1.PriceStream", "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
}
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]
VERSIONS = ["v1", "v1alpha"]


def reflection_path(version: str) -> str:
    return f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"


def reflection_call(chan, version: str):
    """A ServerReflectionInfo stream of the given package. The two packages
    carry byte-identical messages, so grpcio-reflection's v1alpha classes
    serve for v1 too (grpcio-reflection ships no v1 client)."""
    return chan.stream_stream(reflection_path(version),
                              request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                              response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)


class ReflectionDatabase(ProtoReflectionDescriptorDatabase):
    """grpcio-reflection's descriptor database, pointed at either package.
    It keeps its stub in `_stub`; replacing that is the one way to choose the
    method path it calls, and a change there fails this test loudly."""

    def __init__(self, chan, version: str) -> None:
        super().__init__(chan)
        self._stub = type("Stub", (), {"ServerReflectionInfo": reflection_call(chan, version)})()


def ask(chan, version: str, *requests):
    """Sends the requests on one stream, half-closes, returns every response
    and the final status code."""
    call = reflection_call(chan, version)(iter(requests), timeout=CALL_TIMEOUT_S)
    responses = list(call)
    return responses, call.code()


def parsed_files(response) -> list[descriptor_pb2.FileDescriptorProto]:
    files = []
    for raw in response.file_descriptor_response.file_descriptor_proto:
        proto = descriptor_pb2.FileDescriptorProto()
        proto.ParseFromString(raw)
        files.append(proto)
    return files


def paced_server(start_server):
    return start_server(replay=harness.TRADES_FIXTURE, speed="1", wait_streams=0)


# --- Reflection -------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_reflection_lists_every_service(start_server, grpc_channels, version):
    server = paced_server(start_server)
    database = ReflectionDatabase(grpc_channels(server.target), version)
    assert set(database.get_services()) == SERVED_SERVICES


@pytest.mark.parametrize("version", VERSIONS)
def test_reflection_only_client_streams_prices(start_server, grpc_channels, version):
    """No .proto on the client: descriptors, request and response classes all
    come through reflection, and a real StreamPrices call decodes with them."""
    server = paced_server(start_server)
    chan = grpc_channels(server.target)
    pool = DescriptorPool(ReflectionDatabase(chan, version))
    method = pool.FindServiceByName("tickwire.v1.PriceStream").FindMethodByName("StreamPrices")
    assert method.client_streaming and method.server_streaming
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    rsi = pool.FindEnumTypeByName("tickwire.v1.IndicatorType").values_by_name["INDICATOR_TYPE_RSI"].number
    request = request_class(symbol="btcusdt", type=rsi, period=14, request_id="via-reflection")

    call = chan.stream_stream(STREAM_PRICES, request_serializer=request_class.SerializeToString,
                              response_deserializer=response_class.FromString)
    responses = call(iter([request]), timeout=30, metadata=[("tickwire-stream-messages", "3")])
    received = list(responses)
    assert responses.code() == grpc.StatusCode.OK
    prices = [r.price for r in received if r.WhichOneof("payload") == "price"]
    statuses = [r.status for r in received if r.WhichOneof("payload") == "status"]
    assert len(prices) == 3, received
    assert all(p.symbol in ("BTCUSDT", "ETHUSDT") and p.price > 0 and p.trade_id > 0 for p in prices), prices
    assert [(s.request_id, s.code) for s in statuses] == [("via-reflection", 0)], statuses


@pytest.mark.parametrize("version", VERSIONS)
def test_file_containing_symbol_for_a_method(start_server, grpc_channels, version):
    """What ghz asks before it calls StreamPrices."""
    server = paced_server(start_server)
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="tickwire.v1.PriceStream.StreamPrices")
    responses, code = ask(grpc_channels(server.target), version, request)
    assert code == grpc.StatusCode.OK
    assert len(responses) == 1
    response = responses[0]
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    assert response.original_request == request
    files = parsed_files(response)
    assert files[0].name == PRICE_STREAM_FILE
    assert files[0].package == "tickwire.v1"
    (service,) = files[0].service
    assert service.name == "PriceStream"
    (method,) = service.method
    assert (method.name, method.input_type, method.output_type) == (
        "StreamPrices", ".tickwire.v1.IndicatorRequest", ".tickwire.v1.StreamResponse")
    assert method.client_streaming and method.server_streaming


@pytest.mark.parametrize("version", VERSIONS)
def test_symbols_and_files_resolve_on_one_stream(start_server, grpc_channels, version):
    """Messages, nested enums, services and file names, asked in a row on one
    stream, each answered in order with the file that declares them."""
    server = paced_server(start_server)
    asked = [
        ("file_containing_symbol", "tickwire.v1.StreamResponse", PRICE_STREAM_FILE),
        ("file_containing_symbol", "tickwire.v1.IndicatorRequest.Action", PRICE_STREAM_FILE),
        ("file_containing_symbol", "tickwire.v1.IndicatorType", PRICE_STREAM_FILE),
        ("file_containing_symbol", "grpc.health.v1.Health", "grpc/health/v1/health.proto"),
        ("file_containing_symbol", f"grpc.reflection.{version}.ServerReflection",
         f"grpc/reflection/{version}/reflection.proto"),
        ("file_by_filename", "grpc/health/v1/health.proto", "grpc/health/v1/health.proto"),
        ("file_by_filename", PRICE_STREAM_FILE, PRICE_STREAM_FILE),
    ]
    requests = [reflection_pb2.ServerReflectionRequest(**{field: value}) for field, value, _ in asked]
    responses, code = ask(grpc_channels(server.target), version, *requests)
    assert code == grpc.StatusCode.OK
    assert len(responses) == len(asked)
    for (field, value, file_name), request, response in zip(asked, requests, responses):
        assert response.WhichOneof("message_response") == "file_descriptor_response", (field, value, response)
        assert response.original_request == request
        assert parsed_files(response)[0].name == file_name, (field, value)


@pytest.mark.parametrize("version", VERSIONS)
def test_unanswerable_questions_get_error_responses_and_the_stream_carries_on(start_server, grpc_channels,
                                                                             version):
    server = paced_server(start_server)
    unanswerable = [
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
        reflection_pb2.ServerReflectionRequest(file_by_filename="no/such.proto"),
        reflection_pb2.ServerReflectionRequest(file_containing_extension=reflection_pb2.ExtensionRequest(
            containing_type="tickwire.v1.PriceUpdate", extension_number=1000)),
        reflection_pb2.ServerReflectionRequest(all_extension_numbers_of_type="no.such.Message"),
    ]
    extension_numbers = reflection_pb2.ServerReflectionRequest(all_extension_numbers_of_type="tickwire.v1.PriceUpdate")
    then = reflection_pb2.ServerReflectionRequest(list_services="")
    responses, code = ask(grpc_channels(server.target), version, *unanswerable, extension_numbers, then)
    assert code == grpc.StatusCode.OK
    assert len(responses) == len(unanswerable) + 2
    for request, response in zip(unanswerable, responses):
        assert response.WhichOneof("message_response") == "error_response", (request, response)
        assert response.error_response.error_code == NOT_FOUND, response
        assert response.error_response.error_message, response
        assert response.original_request == request
    numbers = responses[-2].all_extension_numbers_response
    assert (numbers.base_type_name, list(numbers.extension_number)) == ("tickwire.v1.PriceUpdate", [])
    assert {s.name for s in responses[-1].list_services_response.service} == SERVED_SERVICES


def test_reflection_stream_stays_open_until_the_client_half_closes(start_server, grpc_channels):
    """Answers come as requests arrive, not at the end: a client may keep one
    reflection stream for a whole session."""
    server = paced_server(start_server)
    release = threading.Event()

    def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        release.wait(CALL_TIMEOUT_S)

    call = reflection_call(grpc_channels(server.target), "v1")(requests(), timeout=CALL_TIMEOUT_S)
    first = next(call)
    assert {s.name for s in first.list_services_response.service} == SERVED_SERVICES
    release.set()
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


@pytest.mark.skipif(shutil.which("grpcurl") is None, reason="grpcurl is not installed (Debian 12 does not package it)")
def test_grpcurl_lists_describes_and_calls(start_server):
    server = paced_server(start_server)

    def grpcurl(*args):
        return subprocess.run(["grpcurl", "-plaintext", *args], capture_output=True, text=True, timeout=30)

    listed = grpcurl(server.target, "list")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == SERVED_SERVICES
    described = grpcurl(server.target, "describe", "tickwire.v1.PriceStream.StreamPrices")
    assert described.returncode == 0 and "StreamPrices" in described.stdout, described.stderr
    called = grpcurl("-H", "tickwire-stream-messages: 2", "-d", "", server.target, "tickwire.v1.PriceStream/StreamPrices")
    assert called.returncode == 0, called.stderr
    assert called.stdout.count('"price"') == 2, called.stdout


# --- Bounded streams --------------------------------------------------------

def bounded_call(chan, metadata, requests=(), timeout_s=30.0):
    """A StreamPrices call with metadata; returns (responses, status code, details, seconds)."""
    pb, _ = harness.stubs()
    method = chan.stream_stream(STREAM_PRICES, request_serializer=pb.IndicatorRequest.SerializeToString,
                                response_deserializer=pb.StreamResponse.FromString)
    started = time.monotonic()
    call = method(iter(requests), timeout=timeout_s, metadata=metadata)
    received = []
    try:
        for response in call:
            received.append(response)
    except grpc.RpcError:
        pass
    return received, call.code(), call.details(), time.monotonic() - started


def test_twenty_streams_bounded_by_duration_end_with_ok_on_time(start_server, grpc_channels):
    server = paced_server(start_server)
    results = [None] * 20
    channels = [grpc_channels(server.target) for _ in results]
    for chan in channels:
        harness.wait_channel_ready(chan)

    def run(index):
        results[index] = bounded_call(channels[index], [("tickwire-stream-duration", "2s")])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    for index, result in enumerate(results):
        assert result is not None, f"client {index} did not finish"
        received, code, details, seconds = result
        assert code == grpc.StatusCode.OK, f"client {index}: {code} {details!r}"
        assert 1.9 <= seconds <= 3.5, f"client {index} ended after {seconds:.2f}s"
        assert all(r.WhichOneof("payload") == "price" for r in received)
    # The paced replay averages several trades a second, so 2 s carries some.
    assert sum(len(r[0]) for r in results) > 0, "no client received a price"
    assert server.alive()


def test_message_bound_ends_after_exactly_that_many_prices(start_server, grpc_channels, expected_trades):
    """Under a max-speed replay (trades far faster than one per loop
    iteration), each stream gets exactly its budget: the first N trades."""
    budgets = [1, 5, 50]
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=len(budgets))
    results = {}

    def run(budget):
        results[budget] = bounded_call(grpc_channels(server.target), [("tickwire-stream-messages", str(budget))])

    threads = [threading.Thread(target=run, args=(budget,)) for budget in budgets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for budget in budgets:
        received, code, details, _ = results[budget]
        assert code == grpc.StatusCode.OK, f"budget {budget}: {code} {details!r}"
        got = [harness.trade_from_update(r.price) for r in received]
        assert got == expected_trades[:budget], f"budget {budget}: {harness.first_difference(got, expected_trades[:budget])}"


def test_message_bound_counts_prices_only(start_server, grpc_channels):
    """Subscription statuses travel on the same stream but are not prices."""
    pb, _ = harness.stubs()
    server = paced_server(start_server)
    request = pb.IndicatorRequest(symbol="btcusdt", type=pb.INDICATOR_TYPE_SMA, period=2, request_id="sma2")
    received, code, details, _ = bounded_call(grpc_channels(server.target), [("tickwire-stream-messages", "5")],
                                              requests=[request])
    assert code == grpc.StatusCode.OK, details
    kinds = [r.WhichOneof("payload") for r in received]
    assert kinds.count("price") == 5, kinds
    assert kinds.count("status") == 1, kinds


def test_both_bounds_the_first_reached_ends_the_stream(start_server, grpc_channels):
    server = paced_server(start_server)
    received, code, details, seconds = bounded_call(
        grpc_channels(server.target), [("tickwire-stream-duration", "1s"), ("tickwire-stream-messages", "1000000")])
    assert code == grpc.StatusCode.OK, details
    assert 0.9 <= seconds <= 2.5, seconds


@pytest.mark.parametrize("header,value", [
    ("tickwire-stream-duration", "abc"),
    ("tickwire-stream-duration", "-1s"),
    ("tickwire-stream-duration", "0"),
    ("tickwire-stream-duration", "5"),
    ("tickwire-stream-duration", "1x"),
    ("tickwire-stream-messages", "abc"),
    ("tickwire-stream-messages", "-1"),
    ("tickwire-stream-messages", "0"),
    ("tickwire-stream-messages", "2.5"),
    ("tickwire-stream-messages", "99999999999999999999"),
])
def test_malformed_bounds_are_invalid_argument(start_server, grpc_channels, header, value):
    server = paced_server(start_server)
    chan = grpc_channels(server.target)
    received, code, details, seconds = bounded_call(chan, [(header, value)])
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert header in details and repr(value) in details, details
    assert received == []
    assert seconds < 5
    # The connection and the server carry on.
    received, code, details, _ = bounded_call(chan, [("tickwire-stream-messages", "1")])
    assert code == grpc.StatusCode.OK, details
    assert len(received) == 1
