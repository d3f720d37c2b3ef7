"""The Prometheus endpoint (--metrics-listen) over the real binary.

Contract under test:
- `GET /metrics` answers 200 with `Content-Type: text/plain; version=0.0.4`
  and every metric family of docs/operations.md with its TYPE, each labelled
  series present from the first scrape; any other path is 404; a request
  that is not HTTP/1.x, or whose header block passes 8 KiB, gets 400 and the
  connection closes; gRPC keeps serving throughout.
- At most 16 scrape connections are open at once, and one that sends nothing
  is closed after its 5 s deadline, so a stuck scraper cannot hold the port.
- Values follow what happens: prices and bytes fanned out grow while a
  grpcio client streams, the streams gauge goes 1 then 0, subscriptions are
  counted by type, the ingest-to-flush histogram counts trades, and the live
  feed's state, reconnects, skipped frames and gaps match what the fake
  Binance did.
- `--metrics-listen off`: no `metrics listening` line and no second port.
"""

from __future__ import annotations

import collections
import re
import socket
import time
import urllib.error
import urllib.request

import pytest

import fake_binance
import harness
from harness import FEED_CONNECTED_RE, FEED_CONNECTION_LOST_RE, METRICS_LISTENING_RE

# family → TYPE; the contract of docs/operations.md.
FAMILIES = {
    "tickwire_feed_connection_state": "gauge",
    "tickwire_feed_connections_opened_total": "counter",
    "tickwire_feed_reconnects_total": "counter",
    "tickwire_feed_messages_received_total": "counter",
    "tickwire_feed_frames_skipped_total": "counter",
    "tickwire_feed_missing_trades_total": "counter",
    "tickwire_feed_duplicates_dropped_total": "counter",
    "tickwire_feed_late_trades_total": "counter",
    "tickwire_feed_suspect_trade_ids_total": "counter",
    "tickwire_feed_outliers_dropped_total": "counter",
    "tickwire_feed_sequence_resets_total": "counter",
    "tickwire_feed_symbol_cut_off": "gauge",
    "tickwire_trades_published_total": "counter",
    "tickwire_grpc_connections_open": "gauge",
    "tickwire_nghttp2_allocated_bytes": "gauge",
    "tickwire_grpc_streams_open": "gauge",
    "tickwire_price_streams_open": "gauge",
    "tickwire_indicator_subscriptions": "gauge",
    "tickwire_indicator_batches_sent_total": "counter",
    "tickwire_price_messages_fanned_out_total": "counter",
    "tickwire_price_fanned_out_bytes_total": "counter",
    "tickwire_conflated_trades_total": "counter",
    "tickwire_indicator_batches_deferred_total": "counter",
    "tickwire_slow_consumer_disconnects_total": "counter",
    "tickwire_grpc_keepalive_events_total": "counter",
    "tickwire_write_idle_disconnects_total": "counter",
    "tickwire_ingest_to_flush_latency_seconds": "histogram",
    "tickwire_shutdown_phase": "gauge",
    "tickwire_reactor_loop_iterations_total": "counter",
    "tickwire_reactor_busy_seconds_total": "counter",
    "tickwire_flush_linger_engaged": "gauge",
    "tickwire_build_info": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
    "tickwire_grpc_connections_accepted_total": "counter",
    "tickwire_grpc_connections_refused_total": "counter",
    "tickwire_max_connections": "gauge",
    "grpc_server_started_total": "counter",
    "grpc_server_handled_total": "counter",
    "tickwire_feed_lag_seconds": "histogram",
    "tickwire_feed_last_trade_time_seconds": "gauge",
    "tickwire_replay_progress_ratio": "gauge",
    "tickwire_replay_passes_completed_total": "counter",
    "tickwire_replay_finished": "gauge",
}
# Series that exist from the first scrape, whatever happened.
LABELLED = {
    "tickwire_feed_connection_state": ("state", {"idle", "connecting", "streaming", "rotating",
                                                 "waiting_to_retry", "closed"}),
    "tickwire_feed_reconnects_total": ("reason", {"failed", "lost", "stale", "rotation"}),
    "tickwire_feed_frames_skipped_total": ("reason", {"malformed", "unknown_event", "binary", "unknown_symbol"}),
    "tickwire_feed_missing_trades_total": ("symbol", {"btcusdt", "ethusdt"}),
    "tickwire_feed_suspect_trade_ids_total": ("symbol", {"btcusdt", "ethusdt"}),
    "tickwire_feed_outliers_dropped_total": ("symbol", {"btcusdt", "ethusdt"}),
    "tickwire_feed_sequence_resets_total": ("symbol", {"btcusdt", "ethusdt"}),
    "tickwire_feed_symbol_cut_off": ("symbol", {"btcusdt", "ethusdt"}),
    "tickwire_indicator_subscriptions": ("type", {"sma", "ema", "rsi", "macd", "bbands", "atr", "stoch", "vwap"}),
    "tickwire_shutdown_phase": ("phase", {"running", "draining", "stopping", "stopped"}),
    "tickwire_grpc_keepalive_events_total": ("event", {"keepalive_timeout", "too_many_pings", "max_connection_age"}),
    "tickwire_grpc_connections_refused_total": ("reason", {"max_connections", "setup_failed"}),
    "tickwire_feed_last_trade_time_seconds": ("symbol", {"btcusdt", "ethusdt"}),
    "tickwire_feed_lag_seconds_count": ("time", {"event", "trade"}),
    "grpc_server_started_total": ("grpc_method", {"StreamPrices", "Check", "Watch", "ServerReflectionInfo"}),
    # go-grpc-prometheus' codes, every one from the first scrape.
    "grpc_server_handled_total": ("grpc_code", {
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
        "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
        "Internal", "Unavailable", "DataLoss", "Unauthenticated"}),
}
EXPOSITION_TYPE = "text/plain; version=0.0.4"
SCRAPE_TIMEOUT_S = 5.0
# The endpoint's bounds (MetricsEndpoint.Limits).
MAX_SCRAPE_CONNECTIONS = 16
REQUEST_DEADLINE_S = 5.0
MAX_HEADER_BYTES = 8 * 1024

SAMPLE_RE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Scrape:
    """One parsed exposition: TYPE per family and every sample's value."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.types: dict[str, str] = {}
        self.samples: dict[tuple[str, frozenset], float] = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
            elif line and not line.startswith("#"):
                match = SAMPLE_RE.match(line)
                assert match, f"not a sample line: {line!r}"
                labels = frozenset(LABEL_RE.findall(match.group("labels") or ""))
                self.samples[(match.group("name"), labels)] = float(match.group("value"))

    def value(self, name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        assert key in self.samples, f"no sample {name}{labels or ''} in:\n{self.text}"
        return self.samples[key]

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for (n, labels) in self.samples if n == name and label in dict(labels)}


def scrape(server: harness.TickwireServer) -> Scrape:
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
        assert response.status == 200
        content_type = response.headers["Content-Type"]
        assert content_type.startswith(EXPOSITION_TYPE), content_type
        return Scrape(response.read().decode("utf-8"))


def raw_exchange(port: int, payload: bytes, timeout_s: float = SCRAPE_TIMEOUT_S) -> bytes:
    """Sends `payload`, then reads until the server closes; returns what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole payload is in
        received = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process has in LISTEN state (from /proc, no tools needed)."""
    inodes = set()
    for fd in harness.Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = harness.Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def start_with_metrics(start_server, **kwargs) -> harness.TickwireServer:
    server = start_server(**kwargs)
    server.wait_metrics_listening()
    return server


def wait_scrape(server, predicate, timeout_s: float, what: str) -> Scrape:
    last: list[Scrape] = []

    def check() -> bool:
        last[:] = [scrape(server)]
        return predicate(last[0])
    assert harness.wait_until(check, timeout_s, interval_s=0.1), f"{what}; last scrape:\n{last[0].text}"
    return last[0]


# --------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------

def test_every_family_is_exposed_with_its_type(start_server):
    server = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1)
    _, line = server.log.wait_for(METRICS_LISTENING_RE, 1.0)
    assert metadata_host(line) == "127.0.0.1", line
    assert listening_ports(server.proc.pid) == {server.port, server.metrics_port}
    first = scrape(server)
    missing = {name: kind for name, kind in FAMILIES.items() if first.types.get(name) != kind}
    assert not missing, f"families missing or with another TYPE: {missing}\n{first.text}"
    for name, (label, values) in LABELLED.items():
        assert first.label_values(name, label) == values, (name, first.label_values(name, label))
    assert first.value("tickwire_shutdown_phase", phase="running") == 1
    assert first.value("tickwire_shutdown_phase", phase="draining") == 0
    assert first.value("tickwire_conflated_trades_total") == 0
    # Replaying: no Binance connection, so no state is 1.
    assert all(first.value("tickwire_feed_connection_state", state=s) == 0
               for s in LABELLED["tickwire_feed_connection_state"][1])
    later = scrape(server)
    assert later.value("tickwire_reactor_loop_iterations_total") > first.value("tickwire_reactor_loop_iterations_total")
    assert later.value("tickwire_reactor_busy_seconds_total") > 0
    assert first.value("tickwire_flush_linger_engaged") == 0  # auto by default, and the loop is quiet


def test_flush_linger_gauge_follows_the_window(start_server):
    fixed = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, extra=["--flush-linger", "5ms"])
    assert scrape(fixed).value("tickwire_flush_linger_engaged") == 1
    # auto on an idle server (no stream, so the replay waits): released.
    auto = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, wait_streams=1,
                              extra=["--flush-linger", "auto"])
    assert scrape(auto).value("tickwire_flush_linger_engaged") == 0


def metadata_host(line: str) -> str:
    return METRICS_LISTENING_RE.search(line).group("host")


def test_values_follow_a_streaming_client(start_server, grpc_channels, collectors):
    pb, _ = harness.stubs()
    server = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1)
    before = scrape(server)
    assert before.value("tickwire_price_messages_fanned_out_total") == 0
    assert before.value("tickwire_grpc_streams_open") == 0

    requests = [pb.IndicatorRequest(symbol="btcusdt", type=pb.INDICATOR_TYPE_RSI, period=14, request_id="rsi"),
                pb.IndicatorRequest(symbol="ethusdt", type=pb.INDICATOR_TYPE_SMA, period=5, request_id="sma")]
    chan = grpc_channels(server.target)
    release = harness.threading.Event()
    client = collectors(chan, name="client", requests=harness.held_open_requests(release, 60, requests),
                        deadline_s=60).start()
    assert client.wait_count(200, 20.0), client.describe_end()
    received = len(client.prices())

    during = wait_scrape(server, lambda s: s.value("tickwire_indicator_subscriptions", type="sma") == 1,
                         5.0, "subscriptions not counted")
    assert during.value("tickwire_grpc_streams_open") == 1
    assert during.value("tickwire_price_streams_open") == 1
    assert during.value("tickwire_grpc_connections_open") == 1
    assert during.value("tickwire_indicator_subscriptions", type="rsi") == 1
    assert during.value("tickwire_indicator_subscriptions", type="ema") == 0
    fanned = during.value("tickwire_price_messages_fanned_out_total")
    assert fanned >= received > 0
    assert during.value("tickwire_price_fanned_out_bytes_total") > fanned * 20  # every message is tens of bytes
    observed = during.value("tickwire_ingest_to_flush_latency_seconds_count")
    # One stream: one observation per trade queued, each flushed before this scrape.
    assert 0 < observed <= during.value("tickwire_trades_published_total")
    assert observed == fanned
    assert during.value("tickwire_ingest_to_flush_latency_seconds_bucket", le="+Inf") == observed
    assert during.value("tickwire_feed_messages_received_total") >= during.value("tickwire_trades_published_total")

    assert harness.wait_until(lambda: len(client.prices()) > fanned + 100, 20.0), client.describe_end()
    later = scrape(server)
    assert later.value("tickwire_price_messages_fanned_out_total") > fanned
    assert later.value("tickwire_ingest_to_flush_latency_seconds_count") > observed
    assert later.value("tickwire_indicator_batches_sent_total") > 0

    client.cancel()
    after = wait_scrape(server, lambda s: s.value("tickwire_grpc_streams_open") == 0, 5.0,
                        "the streams gauge did not return to 0 after the client cancelled")
    assert after.value("tickwire_price_streams_open") == 0
    assert after.value("tickwire_indicator_subscriptions", type="rsi") == 0
    assert after.value("tickwire_slow_consumer_disconnects_total") == 0


def test_operator_metrics_follow_the_server(start_server, grpc_channels, collectors):
    """Build, process, connections, RPCs by code, feed lag and last trade times (issue 21)."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    pb, _ = harness.stubs()
    server = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1,
                                extra=["--max-connections", "1"])
    first = scrape(server)
    version = re.search(r'static let current = "([^"]+)"',
                        (harness.REPO_ROOT / "Sources/Application/TickwireVersion.swift").read_text()).group(1)
    assert first.value("tickwire_build_info", version=version) == 1
    assert abs(first.value("process_start_time_seconds") - time.time()) < 120
    assert first.value("process_resident_memory_bytes") > 4 << 20
    assert first.value("process_virtual_memory_bytes") > first.value("process_resident_memory_bytes")
    # stdio, epoll, listeners, signalfd, timers, the scrape itself…
    assert 5 <= first.value("process_open_fds") <= first.value("process_max_fds")
    assert first.value("process_cpu_seconds_total") > 0
    assert first.value("tickwire_max_connections") == 1
    assert first.value("tickwire_replay_progress_ratio") == 0  # held for a stream
    assert first.value("tickwire_feed_lag_seconds_count", time="event") == 0
    assert first.value("tickwire_feed_last_trade_time_seconds", symbol="btcusdt") == 0

    chan = grpc_channels(server.target)
    release = harness.threading.Event()
    client = collectors(chan, name="client", requests=harness.held_open_requests(release, 60), deadline_s=60).start()
    assert client.wait_count(100, 20.0), client.describe_end()
    health = health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    during = scrape(server)
    assert during.value("tickwire_grpc_connections_accepted_total") == 1
    stream_prices = {"grpc_type": "bidi_stream", "grpc_service": "tickwire.v1.PriceStream", "grpc_method": "StreamPrices"}
    check = {"grpc_type": "unary", "grpc_service": "grpc.health.v1.Health", "grpc_method": "Check"}
    assert during.value("grpc_server_started_total", **stream_prices) == 1
    assert during.value("grpc_server_started_total", **check) == 1
    assert during.value("grpc_server_handled_total", grpc_code="OK", **check) == 1
    assert during.value("grpc_server_handled_total", grpc_code="Canceled", **stream_prices) == 0
    published = during.value("tickwire_trades_published_total")
    for kind in ("event", "trade"):
        # Every trade published before the scrape, and the recording is from
        # 2024-08-08: years late, so all of them past the last bucket.
        assert during.value("tickwire_feed_lag_seconds_count", time=kind) == published > 0
        assert during.value("tickwire_feed_lag_seconds_bucket", time=kind, le="300.0") == 0
        assert during.value("tickwire_feed_lag_seconds_bucket", time=kind, le="+Inf") == published
        assert during.value("tickwire_feed_lag_seconds_sum", time=kind) > published * 3600 * 24 * 365
    for symbol in ("btcusdt", "ethusdt"):
        assert 1723075200 <= during.value("tickwire_feed_last_trade_time_seconds", symbol=symbol) < 1723248000
    assert 0 < during.value("tickwire_replay_progress_ratio") < 1
    assert during.value("tickwire_replay_finished") == 0

    # The one slot is taken by a connection past its handshake: a second is refused on accept.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as extra:
        extra.settimeout(5)
        assert extra.recv(1) == b""
    wait_scrape(server, lambda s: s.value("tickwire_grpc_connections_refused_total", reason="max_connections") == 1,
                5.0, "the refused connection was not counted")

    client.cancel()
    after = wait_scrape(server, lambda s: s.value("grpc_server_handled_total", grpc_code="Canceled", **stream_prices) == 1,
                        5.0, "a cancelled StreamPrices was not counted as Canceled")
    assert after.value("grpc_server_handled_total", grpc_code="OK", **stream_prices) == 0


def test_replay_end_and_passes(start_server):
    once = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="max")
    ended = wait_scrape(once, lambda s: s.value("tickwire_replay_finished") == 1, 20.0, "the replay never finished")
    assert ended.value("tickwire_replay_progress_ratio") == 1
    assert ended.value("tickwire_replay_passes_completed_total") == 0
    looped = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="max", extra=["--replay-loop"])
    passes = wait_scrape(looped, lambda s: s.value("tickwire_replay_passes_completed_total") >= 2, 30.0,
                         "the looped replay completed no two passes")
    assert passes.value("tickwire_replay_finished") == 0


def test_other_paths_are_404(start_server):
    server = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1)
    for path in ("/", "/metric", "/metrics/x", "/healthz"):
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}{path}", timeout=SCRAPE_TIMEOUT_S)
        assert raised.value.code == 404, path
    assert scrape(server).types  # still serving


def test_malformed_and_oversized_requests_get_400_and_grpc_keeps_serving(start_server, grpc_channels):
    server = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1)
    port = server.metrics_port
    garbage = raw_exchange(port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400 "), garbage[:200]
    assert b"\r\nConnection: close\r\n" in garbage
    not_http = raw_exchange(port, b"GET /metrics SPDY/3\r\n\r\n")
    assert not_http.startswith(b"HTTP/1.1 400 "), not_http[:200]
    huge = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * (MAX_HEADER_BYTES + 100) + b"\r\n\r\n"
    oversized = raw_exchange(port, huge)
    assert oversized.startswith(b"HTTP/1.1 400 "), oversized[:200]

    assert scrape(server).types
    chan = grpc_channels(server.target)
    harness.wait_channel_ready(chan)
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    status = health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    assert server.alive()


def test_idle_scrapers_are_bounded_and_time_out(start_server):
    server = start_with_metrics(start_server, replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1)
    idle = [socket.create_connection(("127.0.0.1", server.metrics_port), timeout=10)
            for _ in range(MAX_SCRAPE_CONNECTIONS)]
    try:
        time.sleep(0.3)  # every one accepted and holding a slot
        # A 17th takes the slot of the oldest idle one (issue 20, item 5): it is answered.
        reply = raw_exchange(server.metrics_port, b"GET /metrics HTTP/1.1\r\n\r\n", timeout_s=2.0)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        # Each idle one is closed (the oldest to make room, the rest at their
        # deadline), without a response.
        started = time.monotonic()
        for sock in idle:
            assert sock.recv(1024) == b""
        assert time.monotonic() - started < REQUEST_DEADLINE_S + 2.0
    finally:
        for sock in idle:
            sock.close()
    assert scrape(server).types


def test_off_disables_the_endpoint(start_server):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1, metrics_listen="off")
    time.sleep(0.3)
    assert not server.log.matching(METRICS_LISTENING_RE), server.log.tail()
    assert listening_ports(server.proc.pid) == {server.port}


def test_default_is_0_0_0_0_20051_in_help(binary):
    out = harness.subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    section = out.stdout[out.stdout.index("--metrics-listen"):]
    assert "TICKWIRE_METRICS_LISTEN" in section.split("--", 2)[1]
    assert "0.0.0.0:20051" in section.split("--", 2)[1]


# --------------------------------------------------------------------------
# Live feed (fake Binance)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> fake_binance.TestPKI:
    return fake_binance.make_test_pki(tmp_path_factory.mktemp("pki"))


def test_live_feed_state_reconnects_skips_and_gaps(pki, start_server, grpc_channels, collectors):
    frames = fake_binance.load_frames(harness.TRADES_FIXTURE, limit=1500)
    with fake_binance.FakeBinance(frames, pki.server, rate=200.0) as fake:
        fake.inject_at(0, ["this is not json"])
        fake.inject_at(1, [fake_binance.kline_event("BTCUSDT")])
        server = start_with_metrics(start_server, argv=harness.live_feed_argv(fake.url(), ca_file=pki.ca.cert))
        fake.wait_open(1, 10.0)
        server.log.wait_for(FEED_CONNECTED_RE, 5.0)
        client = harness.open_registered_stream(grpc_channels(server.target), collectors, name="live")
        fake.publish_now(600)
        assert client.wait_count(600, 15.0), client.describe_end()

        streaming = wait_scrape(server, lambda s: s.value("tickwire_feed_messages_received_total") >= 602,
                                5.0, "feed messages not counted")
        assert streaming.value("tickwire_feed_connection_state", state="streaming") == 1
        assert streaming.value("tickwire_feed_connection_state", state="connecting") == 0
        assert streaming.value("tickwire_feed_connections_opened_total") == 1
        assert streaming.value("tickwire_feed_frames_skipped_total", reason="malformed") == 1
        assert streaming.value("tickwire_feed_frames_skipped_total", reason="unknown_event") == 1
        assert streaming.value("tickwire_feed_reconnects_total", reason="lost") == 0
        assert streaming.value("tickwire_trades_published_total") == 600

        before_drop = server.log.count()
        fake.drop(1)
        skipped = fake.skip(200)
        missing = collections.Counter(f.symbol.lower() for f in skipped)
        server.log.wait_for(FEED_CONNECTION_LOST_RE, 5.0, before_drop)
        fake.wait_open(2, 10.0)
        server.log.wait_for(FEED_CONNECTED_RE, 5.0, before_drop)
        fake.publish_now(len(frames))
        published = len(fake.published_frames())
        assert client.wait_count(published, 15.0), client.describe_end()

        after = wait_scrape(server, lambda s: s.value("tickwire_trades_published_total") == published,
                            5.0, "trades after the reconnect not counted")
        assert after.value("tickwire_feed_reconnects_total", reason="lost") == 1
        assert after.value("tickwire_feed_reconnects_total", reason="failed") == 0
        assert after.value("tickwire_feed_reconnects_total", reason="stale") == 0
        assert after.value("tickwire_feed_connections_opened_total") == 2
        assert after.value("tickwire_feed_connection_state", state="streaming") == 1
        for symbol in ("btcusdt", "ethusdt"):
            assert after.value("tickwire_feed_missing_trades_total", symbol=symbol) == missing[symbol], missing
        assert after.value("tickwire_feed_duplicates_dropped_total") == 0
        assert after.value("tickwire_ingest_to_flush_latency_seconds_count") == published
        client.cancel()
        server.stop()
