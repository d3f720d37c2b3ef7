"""Keepalive, the client PING policy, and --max-connection-age.

- A grpcio client streaming 5,000 trades/s for 30 s (with its own legal
  keepalive and grpcio's flow-control pings) is never sent GOAWAY and gets
  every trade in order.
- A raw client that PINGs every 100 ms with no call open gets
  GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") at its third strike and is
  closed; a grpcio client on another connection is untouched.
- A raw client with a call open that PINGs after every DATA frame is never
  struck: our DATA forgives its next PING, as in grpc-go.
- A raw client that goes silent after the preface is pinged (opaque
  "tw-alive") and closed after --keepalive-time + --keepalive-timeout, while
  a client that ACKs stays connected.
- At --max-connection-age (±10%) a connection gets the double GOAWAY; at age
  + grace its streams end with UNAVAILABLE and it is closed; grpcio
  reconnects and a new stream works.

Raw clients are plain sockets with hand-built frames (hpack for the one
header block); every loop is bounded in count and every read by a deadline.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import struct
import time
import urllib.request
from pathlib import Path

import hpack
import pytest

import h2_client
import harness

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Frame types and flags (RFC 9113 §6).
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
NO_ERROR, ENHANCE_YOUR_CALM = 0x0, 0xB
NOTICE_LAST_STREAM_ID = 2**31 - 1
KEEPALIVE_OPAQUE = b"tw-alive"
DRAIN_OPAQUE = b"tw-drain"
TOO_MANY_PINGS_LOG_RE = r"client sends PINGs too often; GOAWAY too_many_pings\"?\s*$"
KEEPALIVE_TIMEOUT_LOG_RE = r"keepalive timeout; closing the connection\"?\s*$"
# Anything that would mean a healthy connection was cut or told to leave.
DISTURBANCE_RE = r"too_many_pings|GOAWAY|keepalive timeout|max connection age|connection closed|too slow"


# --------------------------------------------------------------------------
# A raw HTTP/2 peer
# --------------------------------------------------------------------------

def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


@dataclasses.dataclass
class Frame:
    at: float  # time.monotonic() when read
    kind: int
    flags: int
    stream_id: int
    payload: bytes

    @property
    def goaway(self) -> tuple[int, int, bytes]:
        """(last stream id, error code, debug data) of a GOAWAY."""
        assert self.kind == GOAWAY, self
        last, code = struct.unpack(">II", self.payload[:8])
        return last & 0x7FFF_FFFF, code, self.payload[8:]


class RawPeer:
    """One client connection driven by the test, single-threaded: `send`
    writes frames, `pump` reads the server's frames until a deadline or a
    condition. SETTINGS are ACKed; PINGs only with `ack_pings`; DATA is
    credited back (WINDOW_UPDATE) so prices keep flowing."""

    def __init__(self, port: int, ack_pings: bool = True, ack_settings: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = port
        self.ack_pings = ack_pings
        self.ack_settings = ack_settings
        self.opened_at = time.monotonic()
        self.frames: list[Frame] = []
        self.closed_at: float | None = None
        self._buffer = b""
        self.send(PREFACE + frame(SETTINGS, 0, 0))

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def send(self, data: bytes) -> bool:
        """False when the server has cut the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def open_price_stream(self) -> int:
        """StreamPrices with the send side held open (no END_STREAM)."""
        block = hpack.Encoder().encode(h2_client.request_headers(self.port))
        self.send(frame(HEADERS, END_HEADERS, 1, block))
        return 1

    def pump(self, until: float, stop=lambda peer: False) -> None:
        """Reads until the monotonic time `until`, EOF, or `stop(self)`."""
        while not self.closed and not stop(self):  # bounded by `until`
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65_536)
            except socket.timeout:
                return
            except ConnectionError:
                chunk = b""
            if not chunk:
                self.closed_at = time.monotonic()
                return
            self._parse(chunk, time.monotonic())

    def _parse(self, chunk: bytes, at: float) -> None:
        self._buffer += chunk
        while len(self._buffer) >= 9:
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < 9 + length:
                return
            kind, flags = self._buffer[3], self._buffer[4]
            stream_id = int.from_bytes(self._buffer[5:9], "big") & 0x7FFF_FFFF
            payload = self._buffer[9:9 + length]
            self._buffer = self._buffer[9 + length:]
            self.frames.append(Frame(at, kind, flags, stream_id, payload))
            self._answer(self.frames[-1])

    def _answer(self, received: Frame) -> None:
        if received.kind == SETTINGS and not received.flags & ACK and self.ack_settings:
            self.send(frame(SETTINGS, ACK, 0))
        elif received.kind == PING and not received.flags & ACK and self.ack_pings:
            self.send(frame(PING, ACK, 0, received.payload))
        elif received.kind == DATA and received.payload:
            credit = struct.pack(">I", len(received.payload))
            self.send(frame(WINDOW_UPDATE, 0, 0, credit) + frame(WINDOW_UPDATE, 0, received.stream_id, credit))

    def of_kind(self, kind: int) -> list[Frame]:
        return [f for f in self.frames if f.kind == kind]

    def server_pings(self) -> list[Frame]:
        return [f for f in self.of_kind(PING) if not f.flags & ACK]

    def describe(self) -> str:
        names = {DATA: "DATA", HEADERS: "HEADERS", RST_STREAM: "RST_STREAM", SETTINGS: "SETTINGS",
                 PING: "PING", GOAWAY: "GOAWAY", WINDOW_UPDATE: "WINDOW_UPDATE"}
        shown = [f"{f.at - self.opened_at:.2f}s {names.get(f.kind, f.kind)}"
                 + (f" {f.payload!r}" if f.kind in (PING, GOAWAY) else "")
                 for f in self.frames if f.kind != DATA]
        closed = f"closed at {self.closed_at - self.opened_at:.2f}s" if self.closed else "open"
        return f"{len(self.of_kind(DATA))} DATA frames; {closed}; other frames: {shown[:30]}"

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def raw_peers():
    """Factory for RawPeers, all closed at teardown."""
    opened: list[RawPeer] = []

    def make(port: int, **kwargs) -> RawPeer:
        peer = RawPeer(port, **kwargs)
        opened.append(peer)
        return peer

    yield make
    for peer in opened:
        peer.close()


# --------------------------------------------------------------------------
# A long paced replay
# --------------------------------------------------------------------------

def looped_fixture(copies: int, directory: Path) -> tuple[Path, list[harness.Trade]]:
    """The trades fixture `copies` times over, each copy moved on in time (so
    the recorded pace holds across the seams) and in trade ids (so every id is
    new), with the trades the server must publish for it."""
    frames = [json.loads(line) for line in harness.TRADES_FIXTURE.read_text().splitlines() if line.strip()]
    times = [f["data"]["E"] for f in frames]
    time_step_ms = max(times) - min(times) + 10
    id_step = max(f["data"]["t"] for f in frames) - min(f["data"]["t"] for f in frames) + 1
    path = directory / f"trades-x{copies}.jsonl"
    lines = []
    for copy in range(copies):
        for original in frames:
            data = dict(original["data"])
            data["E"] += copy * time_step_ms
            data["T"] += copy * time_step_ms
            data["t"] += copy * id_step
            lines.append(json.dumps({"stream": original["stream"], "data": data}, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")
    return path, harness.trades_in(lines)


def keepalive_events(server, event: str) -> int:
    """tickwire_grpc_keepalive_events_total{event=...} from /metrics."""
    port = server.metrics_port or server.wait_metrics_listening()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf'^tickwire_grpc_keepalive_events_total\{{event="{event}"\}} (\S+)$', text, re.M)
    assert match, f"no keepalive_events_total series for {event}"
    return int(float(match.group(1)))


def received_trades(collector: harness.StreamCollector) -> list[harness.Trade]:
    return [harness.trade_from_update(item.response.price) for item in collector.prices()]


# --------------------------------------------------------------------------
# (1) A healthy high-rate stream is never disturbed
# --------------------------------------------------------------------------

STREAM_RATE_PER_S = 5_000
STREAM_SECONDS = 30.0
FIXTURE_SPAN_S = 346.0  # first to last event time of the trades fixture


def test_busy_grpcio_stream_with_keepalive_pings_is_never_disturbed(start_server, grpc_channels, collectors,
                                                                    tmp_path):
    copies = int(STREAM_RATE_PER_S * STREAM_SECONDS / harness.FIXTURE_TRADE_COUNT) + 1
    replay, expected = looped_fixture(copies, tmp_path)
    speed = STREAM_RATE_PER_S * FIXTURE_SPAN_S / harness.FIXTURE_TRADE_COUNT
    # Generous slow-consumer bounds: this test is about PINGs, and a Python
    # reader on a busy machine must not be conflated or cut for being slow.
    server = start_server(replay=replay, speed=f"{speed:.1f}", wait_streams=1, log_level="info", extra=[
        "--keepalive-min-ping-interval", "5s", "--keepalive-time", "2s",
        "--stream-soft-limit", str(256 << 20), "--stream-hard-limit", str(256 << 20),
        "--slow-consumer-timeout", "120s",
    ])
    # grpcio's own keepalive, legal for the server's 5 s minimum, on top of
    # its BDP pings; permit_without_calls so it pings from the start.
    chan = grpc_channels(server.target, [
        ("grpc.keepalive_time_ms", 6_000), ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0),
    ])
    since = server.log.count()
    started = time.monotonic()
    collector = collectors(chan, name="busy", deadline_s=120).start()
    assert collector.wait_count(len(expected), STREAM_SECONDS + 60), (
        f"got {collector.count()} of {len(expected)} trades; {collector.describe_end()}")
    elapsed = time.monotonic() - started
    print(f"\n[busy stream] {len(expected)} trades in {elapsed:.1f}s "
          f"({len(expected) / elapsed:.0f}/s)")
    assert elapsed >= STREAM_SECONDS * 0.9, f"the replay ran too fast ({elapsed:.1f}s): pacing is off"
    got = received_trades(collector)
    assert got == expected, harness.first_difference(got, expected)
    assert not collector.finished, collector.describe_end()
    disturbed = server.log.matching(DISTURBANCE_RE, since)
    assert not disturbed, f"the healthy connection was disturbed: {disturbed[:5]}"


# --------------------------------------------------------------------------
# (2) PINGs with no call open strike out
# --------------------------------------------------------------------------

def test_pings_without_calls_get_too_many_pings(start_server, grpc_channels, collectors, raw_peers,
                                                expected_trades):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1)
    healthy = collectors(grpc_channels(server.target), name="healthy", deadline_s=60).start()
    assert healthy.wait_count(20, 15.0), f"healthy stream got no prices: {healthy.describe_end()}"

    since = server.log.count()
    peer = raw_peers(server.port)
    pings_sent = 0
    for index in range(20):  # the fourth PING should be the last
        if not peer.send(frame(PING, 0, 0, struct.pack(">Q", index))):
            break
        pings_sent += 1
        peer.pump(time.monotonic() + 0.1, stop=lambda p: bool(p.of_kind(GOAWAY)))
        if peer.of_kind(GOAWAY) or peer.closed:
            break
    peer.pump(time.monotonic() + 3.0)  # to EOF

    goaways = peer.of_kind(GOAWAY)
    assert goaways, f"no GOAWAY after {pings_sent} PINGs; {peer.describe()}"
    last_id, code, debug = goaways[0].goaway
    assert (code, debug) == (ENHANCE_YOUR_CALM, b"too_many_pings"), peer.describe()
    assert pings_sent == 4, f"GOAWAY after PING {pings_sent}, not the 4th (third strike); {peer.describe()}"
    assert peer.closed, f"the connection stayed open after GOAWAY; {peer.describe()}"
    assert len([f for f in peer.of_kind(PING) if f.flags & ACK]) >= 3, "the allowed PINGs were not ACKed"
    server.log.wait_for(TOO_MANY_PINGS_LOG_RE, 2.0, since)
    assert keepalive_events(server, "too_many_pings") == 1

    time.sleep(0.5)
    assert not healthy.finished, f"the healthy stream ended: {healthy.describe_end()}"
    got = received_trades(healthy)
    assert len(got) > 20 and got == expected_trades[:len(got)], harness.first_difference(got, expected_trades)


# --------------------------------------------------------------------------
# (3) Our DATA forgives the next PING
# --------------------------------------------------------------------------

def test_pings_after_each_data_frame_are_never_struck(start_server, raw_peers):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1)
    since = server.log.count()
    peer = raw_peers(server.port)
    peer.open_price_stream()
    pings_sent = 0
    deadline = time.monotonic() + 15.0
    for _ in range(40):  # bounded in count and by the deadline
        data_seen = len(peer.of_kind(DATA))
        peer.pump(deadline, stop=lambda p: len(p.of_kind(DATA)) > data_seen or bool(p.of_kind(GOAWAY)))
        if peer.closed or peer.of_kind(GOAWAY) or time.monotonic() >= deadline:
            break
        assert peer.send(frame(PING, 0, 0, struct.pack(">Q", pings_sent))), peer.describe()
        pings_sent += 1
        time.sleep(0.02)
    peer.pump(time.monotonic() + 0.5)

    assert pings_sent == 40, f"only {pings_sent} PINGs sent; {peer.describe()}"
    assert not peer.of_kind(GOAWAY) and not peer.closed, f"struck although DATA came between; {peer.describe()}"
    assert not server.log.matching(TOO_MANY_PINGS_LOG_RE, since)


# --------------------------------------------------------------------------
# (4) A silent peer is pinged, then closed
# --------------------------------------------------------------------------

def test_silent_peer_is_pinged_then_closed(start_server, raw_peers):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="1",
                          extra=["--keepalive-time", "1s", "--keepalive-timeout", "1s"])
    since = server.log.count()
    silent = raw_peers(server.port, ack_pings=False, ack_settings=False)
    alive = raw_peers(server.port, ack_pings=True)
    deadline = silent.opened_at + 6.0
    while time.monotonic() < deadline and not silent.closed:  # bounded by the deadline
        silent.pump(time.monotonic() + 0.05)
        alive.pump(time.monotonic() + 0.05)
    alive.pump(time.monotonic() + 2.5, stop=lambda p: len(p.server_pings()) >= 2)

    pings = silent.server_pings()
    assert pings, f"the silent peer was never pinged; {silent.describe()}"
    assert pings[0].payload == KEEPALIVE_OPAQUE, silent.describe()
    assert 0.9 <= pings[0].at - silent.opened_at <= 2.0, silent.describe()
    assert silent.closed, f"the silent peer was not closed within 6 s; {silent.describe()}"
    closed_after = silent.closed_at - silent.opened_at
    assert 1.9 <= closed_after <= 4.0, f"closed after {closed_after:.2f}s; {silent.describe()}"
    line = server.log.wait_for(KEEPALIVE_TIMEOUT_LOG_RE, 2.0, since)[1]
    assert harness.metadata_int(line, "waited_ms") >= 1_000, line
    assert keepalive_events(server, "keepalive_timeout") == 1

    # The peer that answers is pinged about once a second and stays.
    assert not alive.closed, f"the answering peer was closed; {alive.describe()}"
    assert len(alive.server_pings()) >= 2, alive.describe()
    assert all(p.payload == KEEPALIVE_OPAQUE for p in alive.server_pings()), alive.describe()


# --------------------------------------------------------------------------
# (5) --max-connection-age
# --------------------------------------------------------------------------

AGE_ARGS = ["--max-connection-age", "2s", "--max-connection-age-grace", "1s"]
MAX_AGE_DETAILS = "max connection age reached; reconnect"


def test_max_connection_age_raw_frames(start_server, raw_peers):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1, extra=AGE_ARGS)
    peer = raw_peers(server.port)
    stream_id = peer.open_price_stream()

    def trailers_in(p: RawPeer) -> bool:
        return any(f.kind == HEADERS and f.flags & END_STREAM for f in p.frames)

    peer.pump(peer.opened_at + 6.0, stop=trailers_in)
    assert trailers_in(peer), f"no trailers within 6 s; {peer.describe()}"
    trailers = [f for f in peer.frames if f.kind == HEADERS and f.flags & END_STREAM][0]
    peer.send(frame(DATA, END_STREAM, stream_id))  # as a gRPC client does when its call ends
    peer.pump(time.monotonic() + 2.0)

    goaways = peer.of_kind(GOAWAY)
    assert len(goaways) >= 2, f"expected the double GOAWAY; {peer.describe()}"
    notice, final = goaways[0], goaways[1]
    assert notice.goaway[:2] == (NOTICE_LAST_STREAM_ID, NO_ERROR), peer.describe()
    assert final.goaway[:2] == (stream_id, NO_ERROR), peer.describe()
    assert 1.7 <= notice.at - peer.opened_at <= 2.5, f"notice at the wrong age; {peer.describe()}"
    assert any(p.payload == DRAIN_OPAQUE for p in peer.server_pings()), peer.describe()
    # Prices go on through the grace period.
    assert any(f.kind == DATA and notice.at + 0.3 < f.at < trailers.at for f in peer.frames), peer.describe()
    ended_after = trailers.at - peer.opened_at
    assert 2.6 <= ended_after <= 3.8, f"stream ended after {ended_after:.2f}s; {peer.describe()}"
    headers = hpack.Decoder()
    blocks = [dict(headers.decode(f.payload)) for f in peer.of_kind(HEADERS)]
    status = blocks[-1]
    assert status.get("grpc-status") == "14", blocks
    assert MAX_AGE_DETAILS in status.get("grpc-message", ""), blocks
    assert peer.closed and peer.closed_at - trailers.at < 1.5, f"not closed once done; {peer.describe()}"
    server.log.wait_for(r"max connection age reached; sending GOAWAY\"?\s*$", 1.0)
    server.log.wait_for(r"max connection age grace over; ending streams with UNAVAILABLE\"?\s*$", 1.0)
    assert keepalive_events(server, "max_connection_age") == 1


def test_max_connection_age_closes_a_client_that_stays_after_its_trailers(start_server, raw_peers):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1,
                          extra=AGE_ARGS + ["--keepalive-timeout", "1s"])
    peer = raw_peers(server.port)
    peer.open_price_stream()  # and never ends its side, even after the trailers
    peer.pump(peer.opened_at + 8.0)
    trailers = [f for f in peer.frames if f.kind == HEADERS and f.flags & END_STREAM]
    assert trailers and peer.closed, f"not ended and closed within 8 s; {peer.describe()}"
    closed_after = peer.closed_at - trailers[0].at
    assert 0.8 <= closed_after <= 1.6, f"closed {closed_after:.2f}s after the trailers, not --keepalive-timeout; {peer.describe()}"
    server.log.wait_for(r"max connection age: client still connected after its streams ended; closing\"?\s*$", 1.0)


def test_max_connection_age_grpcio_reconnects(start_server, grpc_channels, collectors):
    import grpc

    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1, extra=AGE_ARGS)
    chan = grpc_channels(server.target)
    harness.wait_channel_ready(chan)
    connected = time.monotonic()
    first = collectors(chan, name="first", deadline_s=30).start()
    assert first.wait_count(5, 5.0), first.describe_end()
    assert harness.wait_until(lambda: first.finished, 8.0), f"not ended by age; {first.describe_end()}"
    ended_after = time.monotonic() - connected
    assert first.error is not None and first.error.code() == grpc.StatusCode.UNAVAILABLE, first.describe_end()
    assert MAX_AGE_DETAILS in first.error.details(), first.describe_end()
    assert 2.5 <= ended_after <= 4.5, f"ended {ended_after:.2f}s after connecting"

    second = collectors(chan, name="second", deadline_s=30).start()
    assert second.wait_count(5, 5.0), f"no prices after reconnecting; {second.describe_end()}"
    server.log.wait_for(r"connection closed\"?\s*$", 3.0)
