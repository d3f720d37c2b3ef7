#!/usr/bin/env python3
"""Records what a real grpcio client sends to tickwire, for the seeds of
Tests/Fuzz/grpc_connection.

    TICKWIRE_BIN=.build/debug/tickwire .venv/bin/python Tests/Fuzz/capture_grpc_client.py

Starts the server on a replay of the 2024-08-08 fixture (paced, so streams
stay open), puts a recording TCP proxy on 127.0.0.1 in front of it, and runs
one grpcio scenario per channel: StreamPrices with subscriptions, a health
check, a reflection call, a cancelled call (RST_STREAM), a keepalive PING,
and a stream read long enough for WINDOW_UPDATEs. Each connection's
client-to-server bytes land in Tests/Fuzz/grpc_connection/captures/<scenario>.h2,
cut at 6 KiB (fuzz inputs stay under 8 KiB). Tests/Fuzz/make_corpus.py turns them
into seeds. grpcio's bytes vary a little between runs (user-agent, window
sizes, timing), so regenerating is a deliberate act, not a build step.
"""
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "Integration"))
import harness  # noqa: E402

import grpc  # noqa: E402

CAPTURES = ROOT / "Tests" / "Fuzz" / "grpc_connection" / "captures"
MAX_BYTES = 6 * 1024


class RecordingProxy:
    """Accepts one connection at a time on 127.0.0.1 and relays it to the
    server, keeping the client's bytes."""

    def __init__(self, server_port: int):
        self.server_port = server_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.recorded = bytearray()
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.server_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, destination, record):
        try:
            while data := source.recv(65536):
                if record:
                    self.recorded += data
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, destination):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self) -> bytes:
        time.sleep(0.3)  # let the last frames (RST_STREAM, GOAWAY) through
        data, self.recorded = bytes(self.recorded), bytearray()
        return data


def stub_modules():
    harness.ensure_stubs()
    from tickwire.v1 import price_stream_pb2 as pb, price_stream_pb2_grpc as pb_grpc
    return pb, pb_grpc


def channel(port: int, options=()):
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=harness.CHANNEL_OPTIONS + list(options))


def stream_prices(port, pb, pb_grpc, requests, responses_wanted):
    with channel(port) as ch:
        call = pb_grpc.PriceStreamStub(ch).StreamPrices(iter(requests))
        for count, _ in enumerate(call, 1):
            if count >= responses_wanted:
                break
        call.cancel()


def scenarios(pb, pb_grpc):
    req = pb.IndicatorRequest

    def sub(symbol, kind, period, rid, action=req.ACTION_SUBSCRIBE):
        return req(action=action, symbol=symbol, type=kind, period=period, request_id=rid)

    subscriptions = [sub("BTCUSDT", pb.INDICATOR_TYPE_SMA, 20, "sma-20"),
                     sub("ethusdt", pb.INDICATOR_TYPE_EMA, 50, "ema-50"),
                     sub("BTCUSDT", pb.INDICATOR_TYPE_RSI, 14, "rsi-14"),
                     sub("BTCUSDT", pb.INDICATOR_TYPE_SMA, 20, "unsub", req.ACTION_UNSUBSCRIBE),
                     sub("dogeusdt", pb.INDICATOR_TYPE_SMA, 2, "not-found")]

    def health(port):
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        with channel(port) as ch:
            health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="tickwire.v1.PriceStream"))

    def reflection(port):
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
        with channel(port) as ch:
            requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                        reflection_pb2.ServerReflectionRequest(file_containing_symbol="tickwire.v1.PriceStream")]
            list(reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(iter(requests)))

    def cancel(port):
        # No request ever sent and the call cancelled at once: HEADERS, then RST_STREAM(CANCEL).
        with channel(port) as ch:
            call = pb_grpc.PriceStreamStub(ch).StreamPrices(iter([]))
            next(call)
            call.cancel()

    def ping(port):
        options = [("grpc.keepalive_time_ms", 100), ("grpc.keepalive_permit_without_calls", 1),
                   ("grpc.http2.max_pings_without_data", 0)]
        with channel(port, options) as ch:
            grpc.channel_ready_future(ch).result(timeout=5)
            time.sleep(0.35)

    def unknown_method(port):
        with channel(port) as ch:
            try:
                ch.unary_unary("/tickwire.v1.PriceStream/NoSuchMethod")(b"", timeout=5)
            except grpc.RpcError:
                pass

    return {
        "stream-prices-subscriptions": lambda p: stream_prices(p, pb, pb_grpc, subscriptions, 40),
        "stream-prices-window-update": lambda p: stream_prices(p, pb, pb_grpc, [], 600),
        "health-check": health,
        "reflection": reflection,
        "cancel-rst-stream": cancel,
        "keepalive-ping": ping,
        "unknown-method": unknown_method,
    }


def main():
    pb, pb_grpc = stub_modules()
    argv = harness.server_argv(harness.TRADES_FIXTURE, speed="200", metrics_listen=None)
    server = harness.TickwireServer(argv, harness.server_env(), None)
    try:
        server.wait_listening()
        proxy = RecordingProxy(server.port)
        CAPTURES.mkdir(parents=True, exist_ok=True)
        for name, run in scenarios(pb, pb_grpc).items():
            run(proxy.port)
            data = proxy.take()[:MAX_BYTES]
            (CAPTURES / f"{name}.h2").write_bytes(data)
            print(f"{name}: {len(data)} bytes")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
