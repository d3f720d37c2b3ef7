"""HTTP/2 flow control of response DATA, as a client sees it on the wire.

The server writes its response DATA frames itself, around nghttp2
(Sources/GRPCServer/HTTP2Connection+Data.swift), so it also keeps the
client's send windows itself, per stream and per connection (RFC 9113 §6.9):
it takes well-formed WINDOW_UPDATE frames out of the input before nghttp2
reads it (InboundFrameSplitter, which must find frame boundaries wherever TCP
cuts them), and it reads SETTINGS_INITIAL_WINDOW_SIZE and
SETTINGS_MAX_FRAME_SIZE once nghttp2 has applied them. A WINDOW_UPDATE that is
an error, or that names a stream the server does not hold, still goes to
nghttp2, which judges it. Any slip in that bookkeeping shows on the wire: DATA
past a window, a stream that stalls forever, a window update lost when it is
cut across reads, or an error answered differently from the protocol.

So these tests speak HTTP/2 frame by frame over a socket (not with `h2`,
which refuses to send zero or overflowing increments, a WINDOW_UPDATE inside a
header block, or a frame cut at a chosen byte). The client opens
StreamPrices calls on a looped replay, never sends a WINDOW_UPDATE unless the
test says so, and keeps its own ledger of every window it granted: a DATA
frame past a stream's or the connection's window, or larger than
SETTINGS_MAX_FRAME_SIZE, fails the test where it arrives. On top of that each
test counts DATA bytes exactly: a closed window lets nothing out for
QUIET_S, and a WINDOW_UPDATE of n lets exactly n more out.

Covered: a small stream window and updates to it (messages split across
frames still decode); window updates dripped one byte per write and cut
together with the tail of the frame before them; the connection window shared
by two streams; a lowered SETTINGS_INITIAL_WINDOW_SIZE driving an open stream's
window negative, then raised again; overflow past 2^31-1 (connection: GOAWAY
FLOW_CONTROL_ERROR; stream: RST_STREAM FLOW_CONTROL_ERROR, the connection goes
on); a zero increment, an idle stream and a WINDOW_UPDATE inside a header block
(GOAWAY PROTOCOL_ERROR); a WINDOW_UPDATE of the wrong length, whole or dripped
(GOAWAY FRAME_SIZE_ERROR); a WINDOW_UPDATE for a closed stream (ignored); a
raised SETTINGS_MAX_FRAME_SIZE (larger frames, within it); a connection
window opened a frame at a time, shared by two streams by turns. The
same answers are expected from a server whose windows nghttp2 kept: they are
the protocol's, not the implementation's.

Every wait has a deadline and every loop a bound.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
import time

import hpack
import pytest

import h2_client
import harness

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Frame types and flags (RFC 9113 §6).
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9
ACK, END_HEADERS = 0x1, 0x4
# Error codes (RFC 9113 §7).
PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, CANCEL = 0x1, 0x3, 0x6, 0x8
# Settings (RFC 9113 §6.5.2).
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE = 0x4, 0x5
DEFAULT_WINDOW = 65_535
DEFAULT_MAX_FRAME = 16_384
MAX_WINDOW = 2**31 - 1
REPLAY_SYMBOLS = {"BTCUSDT", "ETHUSDT"}

# The replay loops at this rate for as long as a test runs, so a stream always
# has more queued than any window a test opens (~85 KB/s of prices per stream).
TRADES_PER_S = 1000
# How long a closed window must let nothing out.
QUIET_S = 1.0
# How long anything that should happen may take.
WAIT_S = 10.0
# Between the writes of a frame cut into pieces: long enough that the server
# reads each piece on its own, so the cut is really where the test put it.
DRIP_PAUSE_S = 0.005


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------

def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def settings(values: dict[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", key, value) for key, value in values.items()))


def ping(payload: bytes) -> bytes:
    return frame(PING, 0, 0, payload)


def grpc_messages(data: bytes) -> tuple[list[bytes], bytes]:
    """The whole gRPC length-prefixed messages at the start of `data`, and
    what is left after them (the start of a message still arriving)."""
    messages, offset = [], 0
    while offset + 5 <= len(data):  # bounded: offset grows by at least 5
        assert data[offset] == 0, f"compressed flag {data[offset]} at byte {offset}: the stream is not message-aligned"
        length = int.from_bytes(data[offset + 1:offset + 5], "big")
        if offset + 5 + length > len(data):
            break
        messages.append(data[offset + 5:offset + 5 + length])
        offset += 5 + length
    return messages, data[offset:]


def messages_cut_by_frames(stream) -> list[int]:
    """The offsets where one of `stream`'s DATA frames ended inside a gRPC message."""
    boundaries, offset = {0}, 0
    while offset + 5 <= len(stream.data):  # bounded: offset grows by at least 5
        offset += 5 + int.from_bytes(stream.data[offset + 1:offset + 5], "big")
        boundaries.add(offset)
    return [end for end in stream.frame_ends if end not in boundaries]


def assert_whole_responses(data: bytes, at_least: int) -> None:
    """`data`, the DATA of one stream put together, is StreamResponse messages
    end to end (but for one still arriving): no byte lost, repeated or moved
    where a window cut a message across frames. The empty request draws a
    SubscriptionStatus first; the rest are prices of the replay's symbols."""
    pb, _ = harness.stubs()
    messages, _ = grpc_messages(data)
    assert len(messages) >= at_least, f"{len(messages)} whole messages in {len(data)} bytes, want {at_least}+"
    for index, message in enumerate(messages):
        response = pb.StreamResponse.FromString(message)
        kind = response.WhichOneof("payload")
        assert kind in ("price", "status"), f"message {index}: {kind} {response}"
        if kind == "price":
            assert response.price.symbol in REPLAY_SYMBOLS and response.price.trade_id > 0, (
                f"message {index}: {response.price}")


# --------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Stream:
    window: int                    # what the client has granted and not yet received
    data: bytearray = dataclasses.field(default_factory=bytearray)
    frame_ends: list[int] = dataclasses.field(default_factory=list)  # offsets in `data`
    header_blocks: list = dataclasses.field(default_factory=list)
    reset_code: int | None = None


class FlowClient:
    """One cleartext HTTP/2 connection driven frame by frame.

    It answers SETTINGS and PING (as any client must) but never sends a
    WINDOW_UPDATE on its own, and it checks every DATA frame against its
    own ledger of the windows it granted (RFC 9113 §6.9.1: the sender must
    not exceed them). New SETTINGS count from the server's ACK: DATA framed
    before the server applied them precedes that ACK on the wire.
    """

    def __init__(self, port: int, initial_settings: dict[int, int] | None = None) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        # Every write leaves at once as its own segment: the drip tests choose the cuts.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.streams: dict[int, Stream] = {}
        self.next_stream_id = 1
        self.connection_window = DEFAULT_WINDOW
        self.initial_window = DEFAULT_WINDOW
        self.max_frame = DEFAULT_MAX_FRAME
        self.largest_data_frame = 0
        self.pending_settings: list[dict[int, int]] = []
        self.ping_acks: set[bytes] = set()
        self.pings_sent = 0
        self.goaway: tuple[int, int] | None = None  # (last stream id, error code)
        self.closed = False
        self._buffer = b""
        self._header_block: tuple[int, bytearray] | None = None
        self.send_settings(initial_settings or {}, PREFACE)

    # -- sending ----------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _reply(self, data: bytes) -> None:
        """An ACK the protocol asks for; a connection the server already
        closed needs none, and the test judges the close itself."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def drip(self, data: bytes) -> None:
        """Writes `data` one byte per write, so the server reads it cut at every
        byte. Stops quietly if the server closed the connection on the way (a
        test that sends an error waits for the GOAWAY)."""
        for index in range(len(data)):  # bounded by len(data)
            try:
                self.sock.sendall(data[index:index + 1])
            except (BrokenPipeError, ConnectionResetError):
                return
            time.sleep(DRIP_PAUSE_S)

    def deliver(self, data: bytes, delivery: str) -> None:
        """`data` in one write ("one write") or one byte per write (any other)."""
        if delivery == "one write":
            self.send(data)
        else:
            self.drip(data)

    def send_pieces(self, pieces: list[bytes]) -> None:
        """Writes each piece on its own, a pause apart."""
        for piece in pieces:
            self.sock.sendall(piece)
            time.sleep(DRIP_PAUSE_S * 4)

    def send_settings(self, values: dict[int, int], before: bytes = b"") -> None:
        self.pending_settings.append(values)
        self.send(before + settings(values))

    def wait_settings_applied(self) -> None:
        """Waits for the ACK of every SETTINGS sent: the server applied them."""
        self.wait(lambda: not self.pending_settings, "SETTINGS ACK")

    def grant(self, stream_id: int, increment: int) -> bytes:
        """A WINDOW_UPDATE, credited in the ledger (granting early only makes
        the ledger more lenient, never wrong)."""
        if stream_id == 0:
            self.connection_window += increment
        else:
            self.streams[stream_id].window += increment
        return window_update(stream_id, increment)

    def new_stream(self) -> tuple[int, bytes]:
        """The next stream id, in the ledger, and its request's header block."""
        stream_id = self.next_stream_id
        self.next_stream_id += 2
        self.streams[stream_id] = Stream(window=self.initial_window)
        return stream_id, self.encoder.encode(h2_client.request_headers(self.port))

    def request_frames(self) -> tuple[int, bytes]:
        """(stream id, HEADERS + DATA) of a StreamPrices call whose side stays
        open (a half-close would not end it either)."""
        stream_id, block = self.new_stream()
        return stream_id, (frame(HEADERS, END_HEADERS, stream_id, block)
                           + frame(DATA, 0, stream_id, h2_client.EMPTY_GRPC_MESSAGE))

    def open_call(self) -> int:
        stream_id, frames = self.request_frames()
        self.send(frames)
        return stream_id

    # -- receiving --------------------------------------------------------

    def pump(self, timeout_s: float) -> None:
        """Reads what arrives within `timeout_s` (one recv) and handles every whole frame."""
        if self.closed:
            time.sleep(min(timeout_s, 0.05))
            return
        self.sock.settimeout(max(timeout_s, 0.001))
        try:
            chunk = self.sock.recv(65_536)
        except socket.timeout:
            return
        except ConnectionError:
            chunk = b""
        if not chunk:
            self.closed = True
            return
        self._buffer += chunk
        while len(self._buffer) >= 9:  # bounded by the buffer's length
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < 9 + length:
                break
            kind, flags = self._buffer[3], self._buffer[4]
            stream_id = int.from_bytes(self._buffer[5:9], "big") & 0x7FFF_FFFF
            payload = self._buffer[9:9 + length]
            self._buffer = self._buffer[9 + length:]
            self._handle(kind, flags, stream_id, payload)

    def _handle(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if kind == DATA:
            stream = self.streams.get(stream_id)
            assert stream is not None, f"DATA on stream {stream_id}, which the client never opened"
            assert stream.reset_code is None, f"DATA on stream {stream_id} after RST_STREAM"
            assert len(payload) <= self.max_frame, f"DATA frame of {len(payload)} bytes, max frame size {self.max_frame}"
            stream.window -= len(payload)
            self.connection_window -= len(payload)
            assert stream.window >= 0, (f"stream {stream_id}: DATA {-stream.window} bytes past its window "
                                        f"(received {len(stream.data) + len(payload)})")
            assert self.connection_window >= 0, f"DATA {-self.connection_window} bytes past the connection window"
            stream.data += payload
            stream.frame_ends.append(len(stream.data))
            self.largest_data_frame = max(self.largest_data_frame, len(payload))
        elif kind in (HEADERS, CONTINUATION):
            if kind == HEADERS:
                self._header_block = (stream_id, bytearray())
            assert self._header_block is not None and self._header_block[0] == stream_id, "stray CONTINUATION"
            self._header_block[1].extend(payload)  # the server sends no padding or priority
            if flags & END_HEADERS:
                headers = dict(self.decoder.decode(bytes(self._header_block[1])))
                self.streams[stream_id].header_blocks.append(headers)
                self._header_block = None
        elif kind == RST_STREAM:
            self.streams[stream_id].reset_code = int.from_bytes(payload, "big")
        elif kind == SETTINGS and flags & ACK:
            self._apply(self.pending_settings.pop(0))
        elif kind == SETTINGS:
            self._reply(frame(SETTINGS, ACK, 0))
        elif kind == PING and flags & ACK:
            self.ping_acks.add(payload)
        elif kind == PING:
            self._reply(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            self.goaway = (int.from_bytes(payload[:4], "big") & 0x7FFF_FFFF, int.from_bytes(payload[4:8], "big"))

    def _apply(self, values: dict[int, int]) -> None:
        """The settings the server just acknowledged (RFC 9113 §6.9.2 for the window)."""
        if INITIAL_WINDOW_SIZE in values:
            delta = values[INITIAL_WINDOW_SIZE] - self.initial_window
            self.initial_window = values[INITIAL_WINDOW_SIZE]
            for stream in self.streams.values():
                stream.window += delta
        self.max_frame = values.get(MAX_FRAME_SIZE, self.max_frame)

    def wait(self, predicate, what: str, timeout_s: float = WAIT_S) -> None:
        """Reads until `predicate()`; fails after `timeout_s`, or at once when
        the connection is closed (nothing more can arrive)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():  # bounded by the deadline
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                pytest.fail(f"no {what} within {timeout_s}s; {self.describe()}" if remaining <= 0
                            else f"no {what}: the connection closed; {self.describe()}")
            self.pump(min(remaining, 0.1))

    def read_for(self, seconds: float) -> None:
        """Handles everything that arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:  # bounded by the deadline
            self.pump(min(remaining, 0.1))

    def round_trip(self, before: bytes = b"") -> None:
        """Writes `before` and a PING, and waits for its ACK: the server has
        then read and handled everything written before the PING."""
        self.pings_sent += 1
        payload = struct.pack(">Q", self.pings_sent)
        self.send(before + ping(payload))
        self.wait(lambda: payload in self.ping_acks, "PING ACK")

    # -- what arrived -----------------------------------------------------

    def received(self, stream_id: int) -> int:
        return len(self.streams[stream_id].data)

    def total_received(self) -> int:
        return sum(len(stream.data) for stream in self.streams.values())

    def wait_received(self, stream_id: int, count: int) -> None:
        self.wait(lambda: self.received(stream_id) >= count, f"{count} DATA bytes on stream {stream_id}")
        assert self.received(stream_id) == count, f"stream {stream_id}: {self.received(stream_id)} bytes, want {count}"

    def expect_no_more(self, stream_id: int | None = None) -> None:
        """Nothing more arrives for QUIET_S (on `stream_id`, or on the connection)."""
        count = (lambda: self.received(stream_id)) if stream_id is not None else self.total_received
        before = count()
        self.read_for(QUIET_S)
        where = f"stream {stream_id}" if stream_id is not None else "the connection"
        assert count() == before, (f"{count() - before} DATA bytes arrived on {where} through a closed "
                                   f"window within {QUIET_S}s; {self.describe()}")

    def wait_goaway(self) -> int:
        """The error code of the server's GOAWAY; the connection must then close."""
        self.wait(lambda: self.goaway is not None, "GOAWAY")
        self.wait(lambda: self.closed, "close after GOAWAY")
        return self.goaway[1]

    def describe(self) -> str:
        streams = ", ".join(f"{sid}: {len(s.data)} bytes window {s.window} reset {s.reset_code}"
                            for sid, s in self.streams.items())
        return (f"streams {{{streams}}}; connection window {self.connection_window}; "
                f"goaway {self.goaway}; closed {self.closed}")

    def close(self) -> None:
        self.sock.close()


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

@pytest.fixture
def server(start_server):
    # --replay-rate excludes server_argv's --replay-speed, hence the flags by hand.
    # A stalled stream passes --stream-soft-limit (256 KiB) after about 3 s at
    # this rate; the default 10 s --slow-consumer-timeout could then end it
    # in the middle of a longer test.
    argv = harness.server_argv(None, extra=[
        "--replay", str(harness.TRADES_FIXTURE), "--replay-rate", str(TRADES_PER_S), "--replay-loop",
        "--replay-wait-streams", "1", "--slow-consumer-timeout", "60s"])
    return start_server(argv=argv)


@pytest.fixture
def connect(server):
    """connect(settings=None) -> FlowClient on the server; all closed at teardown."""
    made: list[FlowClient] = []

    def make(initial_settings: dict[int, int] | None = None) -> FlowClient:
        client = FlowClient(server.port, initial_settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def assert_serving(server, connect) -> None:
    """The server lives and a new connection gets prices: only the offender was closed."""
    assert server.alive(), f"server exited: {server.log.tail()}"
    client = connect()
    stream_id = client.open_call()
    client.wait(lambda: client.received(stream_id) >= 1000, "prices on a new connection")


# --------------------------------------------------------------------------
# Stream windows
# --------------------------------------------------------------------------

def test_a_small_stream_window_lets_out_exactly_what_it_grants(connect):
    client = connect({INITIAL_WINDOW_SIZE: 100})
    stream_id = client.open_call()

    client.wait_received(stream_id, 100)
    client.expect_no_more(stream_id)

    client.send(client.grant(stream_id, 100))
    client.wait_received(stream_id, 200)
    client.expect_no_more(stream_id)

    client.send(client.grant(stream_id, 5000))
    client.wait_received(stream_id, 5200)
    client.expect_no_more()
    # Messages are 80-115 bytes, so the windows cut some of them across DATA
    # frames (the first at byte 100); put together they are whole again.
    stream = client.streams[stream_id]
    assert 100 in messages_cut_by_frames(stream), (
        f"no message cut at byte 100 (frames end at {stream.frame_ends[:8]}...): this test lost its point")
    assert_whole_responses(bytes(stream.data), at_least=50)


def test_window_updates_cut_at_any_byte_still_open_the_window(connect):
    client = connect({INITIAL_WINDOW_SIZE: 100})
    stream_id = client.open_call()
    client.wait_received(stream_id, 100)
    expected = 100

    # One byte per write: the splitter holds the header, then the payload.
    client.drip(client.grant(stream_id, 60))
    expected += 60
    client.wait_received(stream_id, expected)

    # Cut at every byte of the 13, each time with the tail of a PING before it
    # in the same write and the head of another PING after it: the splitter
    # must hand the PINGs to nghttp2 whole and in order around the held update.
    for cut in range(1, 13):  # bounded: 12 cuts
        update = client.grant(stream_id, 50 + cut)
        expected += 50 + cut
        first, second = ping(b"before%02d" % cut), ping(b"after.%02d" % cut)
        client.send_pieces([first[:-3], first[-3:] + update[:cut], update[cut:] + second[:5], second[5:]])
        client.wait(lambda: {first[9:], second[9:]} <= client.ping_acks, f"PING ACKs around cut {cut}")
        client.wait_received(stream_id, expected)

    # Several whole updates in one write with other frames between them, two
    # with a reserved bit set, which the receiver ignores (RFC 9113 §6.9).
    client.grant(stream_id, 41 + 42)
    burst = (client.grant(stream_id, 40) + ping(b"between!")
             + window_update(stream_id | 0x8000_0000, 41) + window_update(stream_id, 0x8000_0000 | 42))
    expected += 40 + 41 + 42
    client.send(burst)
    client.wait_received(stream_id, expected)
    client.expect_no_more()
    assert_whole_responses(bytes(client.streams[stream_id].data), at_least=10)


# --------------------------------------------------------------------------
# The connection window
# --------------------------------------------------------------------------

def two_calls_on_the_connection_window(connect) -> tuple[FlowClient, int, int]:
    """A client with two calls whose stream windows are so large that only
    the connection's 65,535 bytes (which SETTINGS cannot change, RFC 9113
    §6.9.2) hold them back, once that window is spent."""
    client = connect({INITIAL_WINDOW_SIZE: 1 << 24})
    first, first_frames = client.request_frames()
    second, second_frames = client.request_frames()
    client.send(first_frames + second_frames)
    client.wait(lambda: client.total_received() >= DEFAULT_WINDOW, "65,535 DATA bytes")
    return client, first, second


def test_the_connection_window_bounds_all_streams_together(connect):
    client, first, second = two_calls_on_the_connection_window(connect)
    client.expect_no_more()
    assert client.total_received() == DEFAULT_WINDOW, client.describe()
    assert client.received(first) > 0 and client.received(second) > 0, (
        f"one stream took the whole connection window: {client.describe()}")

    # A connection update dripped one byte per write.
    client.drip(client.grant(0, 1000))
    client.wait(lambda: client.total_received() >= DEFAULT_WINDOW + 1000, "1,000 more DATA bytes")
    client.expect_no_more()
    assert client.total_received() == DEFAULT_WINDOW + 1000, client.describe()

    client.send(client.grant(0, 30_000))
    client.wait(lambda: client.total_received() >= DEFAULT_WINDOW + 31_000, "30,000 more DATA bytes")
    client.expect_no_more()
    assert client.total_received() == DEFAULT_WINDOW + 31_000, client.describe()
    # Two seconds of backlog against a 30,000-byte grant: the frame size, not
    # a window, bounded the first frame (the ledger checked none is larger).
    assert client.largest_data_frame == DEFAULT_MAX_FRAME, client.largest_data_frame
    for stream_id in (first, second):
        assert_whole_responses(bytes(client.streams[stream_id].data), at_least=10)


def test_a_connection_window_opened_a_little_at_a_time_is_shared_by_turns(connect):
    # Stream windows wide open, the connection window spent, then opened
    # 1,000 bytes at a time: each grant lets out one frame. Both streams have
    # a backlog far larger than a grant, so a server that always served the
    # same stream first would give it every grant and the other nothing.
    client, first, second = two_calls_on_the_connection_window(connect)
    client.read_for(0.5)  # both backlogs grow past any one grant
    before = {stream_id: client.received(stream_id) for stream_id in (first, second)}
    grants = 20
    for count in range(1, grants + 1):  # bounded: 20 grants
        client.send(client.grant(0, 1000))
        client.wait(lambda: client.total_received() >= DEFAULT_WINDOW + 1000 * count, f"grant {count}'s 1,000 bytes")
    client.expect_no_more()
    gained = {stream_id: client.received(stream_id) - before[stream_id] for stream_id in (first, second)}
    print(f"\n[1,000-byte connection grants x {grants}] bytes per stream: {gained}")
    assert sum(gained.values()) == 1000 * grants, client.describe()
    assert min(gained.values()) >= 1000 * grants // 4, f"one stream starved: {gained}"


def test_a_raised_max_frame_size_lets_larger_frames_out(connect):
    # SETTINGS_MAX_FRAME_SIZE 65,536 and a stream window of one byte: a
    # backlog gathers (~85 KB a second at this rate; a window that never
    # opened at all would be held to a few KiB, SlowConsumerPolicy), then one
    # grant opens both windows wide. The frame size the client allowed, not
    # the default 16,384, bounds the frames (the ledger fails any past 65,536).
    client = connect({INITIAL_WINDOW_SIZE: 1, MAX_FRAME_SIZE: 65_536})
    stream_id = client.open_call()
    client.wait_received(stream_id, 1)
    client.expect_no_more()
    client.send(client.grant(0, 1 << 20) + client.grant(stream_id, 1 << 20))
    client.wait(lambda: client.received(stream_id) >= 60_000, "60,000 DATA bytes")
    assert client.largest_data_frame > DEFAULT_MAX_FRAME, (
        f"largest DATA frame {client.largest_data_frame} bytes under a 65,536 limit; {client.describe()}")
    assert_whole_responses(bytes(client.streams[stream_id].data), at_least=100)


# --------------------------------------------------------------------------
# SETTINGS_INITIAL_WINDOW_SIZE changed mid-stream
# --------------------------------------------------------------------------

def test_a_lowered_initial_window_takes_back_from_open_streams(connect):
    client = connect({INITIAL_WINDOW_SIZE: 1000})
    first = client.open_call()
    client.wait_received(first, 1000)  # its window is now 0

    # 1000 -> 400 moves the spent window to -600 (RFC 9113 §6.9.2).
    client.send_settings({INITIAL_WINDOW_SIZE: 400})
    client.wait_settings_applied()
    # -600 + 500 = -100: still nothing may go.
    client.round_trip(client.grant(first, 500))
    client.expect_no_more(first)
    assert client.received(first) == 1000, client.describe()
    # -100 + 300 = 200: exactly 200 bytes.
    client.send(client.grant(first, 300))
    client.wait_received(first, 1200)
    client.expect_no_more(first)

    # A stream opened now starts at the new initial size.
    second = client.open_call()
    client.wait_received(second, 400)
    client.expect_no_more()
    assert client.received(first) == 1200, client.describe()

    # Raising it again (400 -> 1000) gives 600 to every open stream.
    client.send_settings({INITIAL_WINDOW_SIZE: 1000})
    client.wait_received(first, 1800)
    client.wait_received(second, 1000)
    client.expect_no_more()
    for stream_id in (first, second):
        assert_whole_responses(bytes(client.streams[stream_id].data), at_least=10)


# --------------------------------------------------------------------------
# Overflow past 2^31 - 1
# --------------------------------------------------------------------------

def spent_connection(connect) -> tuple[FlowClient, int]:
    """A client whose one stream has taken the default 65,535 bytes: its
    stream window and the connection window are both 0, so nothing moves and
    a window can be brought to exactly 2^31 - 1."""
    client = connect()
    stream_id = client.open_call()
    client.wait_received(stream_id, DEFAULT_WINDOW)
    return client, stream_id


def test_connection_window_overflow_is_a_connection_flow_control_error(server, connect):
    client, _ = spent_connection(connect)
    client.round_trip(client.grant(0, MAX_WINDOW))  # 0 + 2^31 - 1: the largest legal window
    assert client.goaway is None, client.describe()

    client.send(window_update(0, 1))
    assert client.wait_goaway() == FLOW_CONTROL_ERROR, client.describe()
    assert_serving(server, connect)


def test_stream_window_overflow_resets_only_that_stream(connect):
    client, stream_id = spent_connection(connect)
    client.round_trip(client.grant(stream_id, MAX_WINDOW))
    assert client.streams[stream_id].reset_code is None, client.describe()

    client.send(window_update(stream_id, 1))
    client.wait(lambda: client.streams[stream_id].reset_code is not None, "RST_STREAM")
    assert client.streams[stream_id].reset_code == FLOW_CONTROL_ERROR, client.describe()

    # A stream error: the connection goes on. A new call gets exactly what a
    # connection update lets out, and the reset stream nothing more.
    other = client.open_call()
    client.send(client.grant(0, 10_000))
    client.wait_received(other, 10_000)
    client.expect_no_more()
    assert client.goaway is None and not client.closed, client.describe()
    assert client.received(stream_id) == DEFAULT_WINDOW, client.describe()
    assert client.streams[other].header_blocks[0].get(":status") == "200", client.describe()
    assert_whole_responses(bytes(client.streams[other].data), at_least=10)


# --------------------------------------------------------------------------
# WINDOW_UPDATE frames nghttp2 must judge
# --------------------------------------------------------------------------

@pytest.mark.parametrize("increment", [0, 0x8000_0000], ids=["zero", "reserved-bit-only"])
@pytest.mark.parametrize("on", ["stream", "connection"])
def test_a_zero_increment_is_a_protocol_error(server, connect, on, increment):
    # RFC 9113 §6.9 makes it a stream error on a stream; nghttp2 (1.52) closes
    # the connection either way. The reserved bit is ignored (§6.9), so
    # 0x80000000 is an increment of 0, not a window overflow.
    client = connect()
    stream_id = client.open_call()
    client.wait(lambda: client.received(stream_id) > 0, "DATA")
    client.send(window_update(stream_id if on == "stream" else 0, increment))
    assert client.wait_goaway() == PROTOCOL_ERROR, client.describe()
    assert_serving(server, connect)


@pytest.mark.parametrize("delivery", ["one write", "one byte per write"])
@pytest.mark.parametrize("length", [3, 5], ids=["short", "long"])
@pytest.mark.parametrize("on", ["stream", "connection"])
def test_a_window_update_of_the_wrong_length_is_a_frame_size_error(server, connect, on, length, delivery):
    # RFC 9113 §6.9: a WINDOW_UPDATE whose length is not 4 is a connection
    # error FRAME_SIZE_ERROR, on a stream too. The server must not take it
    # for an update of its own, however it arrives, and nghttp2 answers it.
    client = connect()
    stream_id = client.open_call()
    client.wait(lambda: client.received(stream_id) > 0, "DATA")
    increment = (1000).to_bytes(4, "big")
    payload = increment[:length] if length < 4 else increment + bytes(length - 4)
    bad = frame(WINDOW_UPDATE, 0, stream_id if on == "stream" else 0, payload)
    client.deliver(bad, delivery)
    assert client.wait_goaway() == FRAME_SIZE_ERROR, client.describe()
    assert_serving(server, connect)


def test_a_window_update_on_an_idle_stream_is_a_protocol_error(server, connect):
    client = connect()
    stream_id = client.open_call()
    client.wait(lambda: client.received(stream_id) > 0, "DATA")
    client.send(window_update(99, 100))  # stream 99 was never opened (RFC 9113 §5.1)
    assert client.wait_goaway() == PROTOCOL_ERROR, client.describe()
    assert_serving(server, connect)


def test_a_window_update_on_a_closed_stream_is_ignored(connect):
    client = connect()
    cancelled = client.open_call()
    client.wait(lambda: client.received(cancelled) > 0, "DATA")
    client.send(frame(RST_STREAM, 0, cancelled, struct.pack(">I", CANCEL)))
    # RFC 9113 §6.9: WINDOW_UPDATE can arrive on a closed stream and is not an error.
    client.round_trip(window_update(cancelled, 100))
    assert client.goaway is None and not client.closed, client.describe()

    other = client.open_call()
    client.wait(lambda: client.received(other) >= 1000, "DATA on a new call")
    assert client.goaway is None and not client.closed, client.describe()


def split_request(client: FlowClient, between: bytes = b"") -> tuple[int, bytes]:
    """(stream id, frames) of a StreamPrices call whose header block is cut in
    two, a HEADERS without END_HEADERS and a CONTINUATION, with `between`
    between them."""
    stream_id, block = client.new_stream()
    cut = len(block) // 2
    return stream_id, (frame(HEADERS, 0, stream_id, block[:cut]) + between
                       + frame(CONTINUATION, END_HEADERS, stream_id, block[cut:])
                       + frame(DATA, 0, stream_id, h2_client.EMPTY_GRPC_MESSAGE))


@pytest.mark.parametrize("delivery", ["one write", "one byte per write"])
@pytest.mark.parametrize("target", ["connection", "stream being opened", "open stream"])
def test_a_window_update_inside_a_header_block_is_a_protocol_error(server, connect, target, delivery):
    # RFC 9113 §6.10: between a HEADERS without END_HEADERS and its last
    # CONTINUATION no other frame may come. The server must not take such a
    # WINDOW_UPDATE for itself (the stream being opened is already in its
    # table), or nghttp2 would never see the error.
    client = connect()
    opened = client.open_call()
    client.wait(lambda: client.received(opened) > 0, "DATA")

    update_on = {"connection": 0, "stream being opened": client.next_stream_id, "open stream": opened}[target]
    _, frames = split_request(client, between=window_update(update_on, 1000))
    client.deliver(frames, delivery)
    assert client.wait_goaway() == PROTOCOL_ERROR, client.describe()
    assert_serving(server, connect)


def test_a_header_block_cut_at_every_byte_is_a_valid_request(connect):
    # The control for the test above: dripping the same frames without the
    # WINDOW_UPDATE is a valid call, so the error there is the update's. (The
    # splitter hands nghttp2 each frame header whole however it arrives.)
    client = connect()
    stream_id, frames = split_request(client)
    client.drip(frames)
    client.wait(lambda: client.received(stream_id) >= 1000, "DATA on the dripped call")
    assert client.goaway is None and not client.closed, client.describe()
