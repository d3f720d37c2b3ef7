"""HTTP/2 abuse: each attack cuts off (or limits) only the attacker.

Every test runs one attack on its own raw socket while a healthy grpcio client
streams a 20x replay. The healthy client must keep receiving every trade, in
order, through the attack. For the lead's figures, each test prints (pytest -s)
the healthy client's p99 ingest-to-receive latency during the attack and the
server's RSS before and at its peak during the attack.

Every loop is bounded in count and every read by a deadline.
"""

from __future__ import annotations

import dataclasses
import random
import socket
import ssl
import struct
import threading
import time

import hpack
import pytest

import h2_client
import harness

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Frame types and flags (RFC 9113 §6).
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x7, 0x9
END_STREAM, END_HEADERS = 0x1, 0x4
CANCEL, INTERNAL_ERROR, ENHANCE_YOUR_CALM = 0x8, 0x2, 0xB

# How long any one attack, and the wait for its connection to be cut, may take.
ATTACK_BUDGET_S = 10.0
# The healthy stream keeps being measured this long after the attack.
SETTLE_S = 1.0
# ... and this long before it, for the baseline figure.
BEFORE_S = 1.0
HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
GOAWAY_SENT_RE = r"GOAWAY sent to a misbehaving peer; closing\"?\s*$"
FLOOD_RE = r"HTTP/2 flood; closing the connection\"?\s*$"


# --------------------------------------------------------------------------
# Raw frames
# --------------------------------------------------------------------------

def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def client_preface() -> bytes:
    return PREFACE + frame(SETTINGS, 0, 0)


def request_block(encoder: hpack.Encoder, port: int, extra: list[tuple[str, str]] = ()) -> bytes:
    return encoder.encode(h2_client.request_headers(port) + list(extra))


@dataclasses.dataclass
class CutOff:
    """How the server ended an abusive connection, as its client saw it."""
    closed: bool = False
    seconds: float = 0.0
    goaway_code: int | None = None
    reset_streams: int = 0

    def describe(self) -> str:
        return (f"closed={self.closed} after {self.seconds:.3f}s goaway={self.goaway_code} "
                f"rst_stream_frames={self.reset_streams}")


def send_until_cut(sock: socket.socket, data: bytes, chunk_bytes: int = 16_384) -> None:
    """Sends `data`, stopping quietly where the server cut the connection."""
    for offset in range(0, len(data), chunk_bytes):  # bounded by len(data)
        try:
            sock.sendall(data[offset:offset + chunk_bytes])
        except (BrokenPipeError, ConnectionResetError):
            return


def read_until_closed(sock: socket.socket, started: float, timeout_s: float) -> CutOff:
    """Reads and parses frames until EOF, a reset, or `timeout_s` after `started`."""
    outcome = CutOff()
    buffer = b""
    deadline = started + timeout_s
    while True:  # bounded by the deadline
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65_536)
        except socket.timeout:
            break
        except ConnectionError:
            chunk = b""
        if not chunk:
            outcome.closed = True
            break
        buffer += chunk
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[:3], "big")
            if len(buffer) < 9 + length:
                break
            kind, payload = buffer[3], buffer[9:9 + length]
            if kind == GOAWAY and length >= 8:
                outcome.goaway_code = int.from_bytes(payload[4:8], "big")
            elif kind == RST_STREAM:
                outcome.reset_streams += 1
            buffer = buffer[9 + length:]
    outcome.seconds = time.monotonic() - started
    return outcome


def attack_connection(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=ATTACK_BUDGET_S)
    # Unread input at close makes the kernel send RST instead of FIN; either
    # counts as cut off. Linger 0 keeps our own close from lingering too.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return sock


def send_then_watch(port: int, data: bytes, timeout_s: float = ATTACK_BUDGET_S):
    """An attack: a fresh connection writes `data` (never reading), then waits
    for the server to cut it off. Returns the callable under_attack runs."""
    def attack() -> CutOff:
        sock = attack_connection(port)
        try:
            started = time.monotonic()
            send_until_cut(sock, data)
            return read_until_closed(sock, started, timeout_s)
        finally:
            sock.close()
    return attack


# --------------------------------------------------------------------------
# The healthy client and the figures
# --------------------------------------------------------------------------

def price_latencies_ms(items) -> list[float]:
    return [(item.recv_wall_ns - item.response.price.ingest_unix_nanos) / 1e6
            for item in items if item.response.WhichOneof("payload") == "price"]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class RSSSampler:
    """Samples the server's RSS every 20 ms on a thread until stopped."""

    def __init__(self, server) -> None:
        self.server = server
        self.peak_kib = server.rss_kib() or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.wait(0.02):  # bounded by stop()
            self.peak_kib = max(self.peak_kib, self.server.rss_kib() or 0)

    def __enter__(self) -> "RSSSampler":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join(2)


@pytest.fixture
def healthy(start_server, grpc_channels, collectors):
    """(server, collector): a 20x replay held until the healthy stream opens."""
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1)
    collector = collectors(grpc_channels(server.target), name="healthy", deadline_s=90).start()
    assert collector.wait_count(20, 15.0), f"healthy stream got no prices: {collector.describe_end()}"
    return server, collector


def under_attack(name: str, server, collector, expected_trades, attack):
    """Runs `attack()`, prints the figures, checks the healthy stream, returns the attack's result."""
    quiet_start = collector.count()
    time.sleep(BEFORE_S)  # undisturbed traffic first, measured as the baseline
    rss_before = server.rss_kib()
    first = collector.count()
    with RSSSampler(server) as rss:
        result = attack()
        time.sleep(SETTLE_S)
    last = collector.count()
    before_ms = price_latencies_ms(collector.items[quiet_start:first])
    latencies_ms = price_latencies_ms(collector.items[first:last])
    assert latencies_ms, f"{name}: the healthy stream received nothing during the attack; {collector.describe_end()}"
    before = f"{p99(before_ms):.2f} ms over {len(before_ms)} trades" if before_ms else "no trades"
    print(f"\n[{name}] healthy client: p99 ingest->receive before the attack {before}; during "
          f"{p99(latencies_ms):.2f} ms over {len(latencies_ms)} trades (max {max(latencies_ms):.2f} ms); "
          f"server RSS before {rss_before} KiB, peak during {rss.peak_kib} KiB")
    assert not collector.finished, f"{name}: the healthy stream ended: {collector.describe_end()}"
    got = [harness.trade_from_update(item.response.price) for item in collector.prices()]
    assert got == expected_trades[:len(got)], (
        f"{name}: healthy stream out of order or missing trades: {harness.first_difference(got, expected_trades)}")
    assert server.alive(), f"server exited: {server.log.tail()}"
    return result


def guard_available(server, metadata_key: str) -> None:
    line = server.log.matching(r"HTTP/2 protections\"?\s*$")
    assert line, "no `HTTP/2 protections` line at startup"
    if "unavailable" in harness.metadata_str(line[0], metadata_key):
        pytest.skip(f"this libnghttp2 lacks the option behind {metadata_key}")


# --------------------------------------------------------------------------
# (1) Rapid Reset
# --------------------------------------------------------------------------

def test_rapid_reset_gets_goaway_and_healthy_stream_continues(healthy, expected_trades):
    server, collector = healthy
    guard_available(server, "stream_reset_limit")
    encoder = hpack.Encoder()
    pairs = bytearray(client_preface())
    for index in range(2_000):
        stream_id = 1 + 2 * index
        pairs += frame(HEADERS, END_HEADERS, stream_id, request_block(encoder, server.port))
        pairs += frame(RST_STREAM, 0, stream_id, struct.pack(">I", CANCEL))

    attack = send_then_watch(server.port, bytes(pairs))

    since = server.log.count()
    outcome = under_attack("rapid reset", server, collector, expected_trades, attack)
    print(f"[rapid reset] attacker: {outcome.describe()}")
    assert outcome.closed, f"the rapid-reset connection was not closed: {outcome.describe()}"
    server.log.wait_for(GOAWAY_SENT_RE, 2.0, since)
    # Issue 20 item 6: ENHANCE_YOUR_CALM (was INTERNAL_ERROR, nghttp2's own answer).
    assert outcome.goaway_code == ENHANCE_YOUR_CALM, outcome.describe()
    server.log.wait_for(r"rapid reset", 2.0, since)


# --------------------------------------------------------------------------
# (2) CONTINUATION flood
# --------------------------------------------------------------------------

def test_continuation_flood_is_cut_off(healthy, expected_trades):
    server, collector = healthy
    guard_available(server, "max_continuations")
    encoder = hpack.Encoder()
    flood = bytearray(client_preface())
    flood += frame(HEADERS, 0, 1, request_block(encoder, server.port))  # no END_HEADERS
    for index in range(10_000):
        # Small, valid fields: the header list limit must not be what stops it.
        flood += frame(CONTINUATION, 0, 1, encoder.encode([(f"x-c{index % 4}", "v")]))

    attack = send_then_watch(server.port, bytes(flood))

    since = server.log.count()
    outcome = under_attack("continuation flood", server, collector, expected_trades, attack)
    print(f"[continuation flood] attacker: {outcome.describe()}")
    assert outcome.closed and outcome.seconds < 2.0, f"not cut off: {outcome.describe()}"
    server.log.wait_for(FLOOD_RE, 2.0, since)
    # Issue 20 item 6: a GOAWAY now says why (there was none).
    assert outcome.goaway_code == ENHANCE_YOUR_CALM, outcome.describe()


# --------------------------------------------------------------------------
# (3) SETTINGS flood
# --------------------------------------------------------------------------

def many_settings_frames() -> bytes:
    return client_preface() + frame(SETTINGS, 0, 0) * 20_000


def one_frame_with_many_entries() -> bytes:
    # 100 entries (nghttp2 counts them whatever their ids) against a limit of 32.
    entries = b"".join(struct.pack(">HI", 0x4, 65_535) for _ in range(100))
    return client_preface() + frame(SETTINGS, 0, 0, entries)


@pytest.mark.parametrize("variant, payload, log_re", [
    ("settings flood", many_settings_frames, FLOOD_RE),
    ("settings entries", one_frame_with_many_entries, GOAWAY_SENT_RE),
])
def test_settings_abuse_is_cut_off(healthy, expected_trades, variant, payload, log_re):
    server, collector = healthy
    data = payload()

    attack = send_then_watch(server.port, data)  # never reads the ACKs

    since = server.log.count()
    outcome = under_attack(variant, server, collector, expected_trades, attack)
    print(f"[{variant}] attacker: {outcome.describe()}")
    assert outcome.closed and outcome.seconds < 2.0, f"not cut off: {outcome.describe()}"
    server.log.wait_for(log_re, 2.0, since)
    if variant == "settings entries":
        assert outcome.goaway_code in (None, ENHANCE_YOUR_CALM), outcome.describe()


# --------------------------------------------------------------------------
# (4) Oversized header list
# --------------------------------------------------------------------------

def test_oversized_header_list_resets_the_stream_only(healthy, expected_trades):
    server, collector = healthy
    # 24 fields of 1 KiB: about 25 KiB as RFC 7541 counts, over the 16 KiB limit,
    # yet only a few CONTINUATION frames.
    padding = [(f"x-pad-{index}", "a" * 1024) for index in range(24)]

    def attack():
        connection = h2_client.RawH2Connection(server.port, timeout_s=5.0)
        try:
            oversized = connection.open_stream(h2_client.request_headers(server.port) + padding,
                                               body=h2_client.EMPTY_GRPC_MESSAGE)
            refused = connection.pump_until_done(oversized, 5.0)
            check = connection.open_stream(h2_client.request_headers(server.port, path=HEALTH_CHECK_PATH),
                                           body=h2_client.EMPTY_GRPC_MESSAGE)
            return refused, connection.pump_until_done(check, 5.0)
        finally:
            connection.close()

    refused, check = under_attack("oversized header list", server, collector, expected_trades, attack)
    print(f"[oversized header list] refused stream: {refused.describe()}")
    assert refused.reset_code is not None or refused.grpc_status == "8", refused.describe()
    if refused.grpc_status is not None:
        assert refused.http_status == "431", refused.describe()
        assert "header list" in refused.headers.get("grpc-message", ""), refused.describe()
    assert check.grpc_status == "0" and not check.connection_closed, (
        f"the connection was not usable after the refused stream: {check.describe()}")


# --------------------------------------------------------------------------
# (5) Not HTTP/2 at all
# --------------------------------------------------------------------------

def http11_request() -> bytes:
    return b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"


def random_bytes() -> bytes:
    noise = bytearray(random.Random(20240808).randbytes(4096))
    noise[0] = 0x00  # never the 'P' of the real preface
    return bytes(noise)


def tls_client_hello() -> bytes:
    """A real ClientHello from Python's ssl module, taken off a memory BIO."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    context = ssl.create_default_context()
    context.set_alpn_protocols(["h2"])
    tls = context.wrap_bio(incoming, outgoing, server_hostname="tickwire.test")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@pytest.mark.parametrize("variant, payload, looks_like", [
    ("http/1.1", http11_request, "HTTP/1.x"),
    ("random bytes", random_bytes, "unknown bytes"),
    ("tls clienthello", tls_client_hello, "TLS"),
])
def test_non_http2_client_is_closed_within_a_second(healthy, expected_trades, variant, payload, looks_like):
    server, collector = healthy
    data = payload()

    attack = send_then_watch(server.port, data, timeout_s=3.0)

    since = server.log.count()
    outcome = under_attack(variant, server, collector, expected_trades, attack)
    print(f"[{variant}] attacker: {outcome.describe()}")
    assert outcome.closed and outcome.seconds < 1.0, f"not closed within 1s: {outcome.describe()}"
    _, line = server.log.wait_for(r"not an HTTP/2 client; closing\"?\s*$", 2.0, since)
    assert " level=debug " in line or '"debug"' in line, line
    assert looks_like in harness.metadata_str(line, "looks_like"), line
