"""A stand-in for Binance's spot WebSocket market streams, for integration tests.

What it imitates (and why each part matters to a client like tickwire):
- TLS (1.2+) on 127.0.0.1, with certificates the test makes with the `openssl`
  CLI (see `make_ca`, `issue_server_cert`): the client must verify the chain
  and the name exactly as it would against stream.binance.com.
- The combined-stream endpoint `/stream?streams=a@trade/b@trade`. Only the
  streams a connection asked for are sent to it, each trade as one TEXT frame
  in Binance's envelope `{"stream":"btcusdt@trade","data":{"e":"trade",…}}`.
  The frames are real recorded ones, sent byte for byte.
- ONE shared live clock: a publisher walks through the recording at a set
  rate and hands each trade to every connection open at that instant. A
  connection opened later starts at the current position (no history), and an
  outage therefore loses real trades, as it would against Binance. The clock
  can be paused, resumed, stepped and moved on while nobody listens (`skip`),
  so a test knows exactly which trades a client could not have seen.
- The failure modes a feed must survive, on command: refused handshakes (HTTP
  503, optional Retry-After), an abrupt TCP drop without a close frame, a stall
  (nothing sent, pings not answered), a lag (what is published queues up and
  goes out late), garbage frames between trades, the `serverShutdown` event
  followed later by a close, and pings with a payload whose pong is timed.
- Binance's WebSocket API (`/ws-api/v3`) on a second port (`api_url()`):
  `trades.historical` answered from the same history the stream serves
  (every trade the clock has passed, sent to anyone or not), with
  `rateLimits`; on command it answers errors (429 with Retry-After, 418,
  400…) or withholds ids (an incomplete history). See fake_binance_api.py.

Everything the fake saw is recorded per connection attempt (`ConnectionRecord`):
accept time, TLS outcome, the request path, the HTTP status answered, pings and
pongs from the client with their payloads, close codes, frames sent. (A client
that gives up on the certificate and closes without a TLS alert leaves both
tls_version and tls_error empty: asyncio reports that case to nobody.)

The asyncio loop runs on a background thread; every public method is
thread-safe and bounded by a timeout, so a test thread drives it directly.
The websockets library's own keepalive pings are off unless asked for.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import http
import json
import secrets
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

import fake_binance_api
from websockets.frames import Opcode
from websockets.protocol import State

# How long a control call may wait for the loop thread before failing.
CONTROL_TIMEOUT_S = 10.0
OPENSSL_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------
# Certificates (openssl CLI)
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CertificateAuthority:
    name: str
    cert: Path
    key: Path


@dataclasses.dataclass(frozen=True)
class ServerCertificate:
    cert: Path
    key: Path
    sans: tuple[str, ...]
    issuer: CertificateAuthority


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=OPENSSL_TIMEOUT_S)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({result.returncode}): {result.stderr}")


def _new_key(path: Path) -> None:
    # EC P-256: fast to generate, and what most public endpoints offer today.
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(path), cwd=path.parent)


def make_ca(directory: Path, name: str = "ca", common_name: str = "Tickwire Test CA") -> CertificateAuthority:
    """A CA key and self-signed certificate, valid for two days from now."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert, config = directory / f"{name}.key", directory / f"{name}.pem", directory / f"{name}.cnf"
    config.write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\n"
        f"[dn]\nCN = {common_name}\n"
        "[v3_ca]\nbasicConstraints = critical,CA:TRUE\n"
        "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n")
    _new_key(key)
    _openssl("req", "-x509", "-new", "-key", str(key), "-config", str(config), "-extensions", "v3_ca",
             "-sha256", "-days", "2", "-out", str(cert), cwd=directory)
    return CertificateAuthority(name=common_name, cert=cert, key=key)


def issue_server_cert(ca: CertificateAuthority, directory: Path, name: str = "server",
                      sans: Sequence[str] = ("DNS:localhost", "IP:127.0.0.1"),
                      common_name: str | None = None, usage: str = "serverAuth") -> ServerCertificate:
    """A key and a certificate signed by `ca` for the given subjectAltNames;
    `usage` is its extendedKeyUsage (clientAuth for an mTLS client)."""
    directory.mkdir(parents=True, exist_ok=True)
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    req_config, ext_config = directory / f"{name}-req.cnf", directory / f"{name}-ext.cnf"
    cn = common_name or sans[0].split(":", 1)[1]
    req_config.write_text(f"[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {cn}\n")
    ext_config.write_text(
        "[v3_server]\nbasicConstraints = critical,CA:FALSE\n"
        f"keyUsage = critical,digitalSignature\nextendedKeyUsage = {usage}\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
        f"subjectAltName = {','.join(sans)}\n")
    _new_key(key)
    _openssl("req", "-new", "-key", str(key), "-config", str(req_config), "-out", str(csr), cwd=directory)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
             "-set_serial", "0x" + secrets.token_hex(8), "-sha256", "-days", "2",
             "-extfile", str(ext_config), "-extensions", "v3_server", "-out", str(cert), cwd=directory)
    return ServerCertificate(cert=cert, key=key, sans=tuple(sans), issuer=ca)


@dataclasses.dataclass(frozen=True)
class TestPKI:
    """The certificates one test module needs."""
    ca: CertificateAuthority            # the CA tickwire is told to trust
    server: ServerCertificate           # localhost / 127.0.0.1, signed by `ca`
    other_ca: CertificateAuthority      # an unrelated CA
    server_other_ca: ServerCertificate  # right names, signed by `other_ca`
    server_wrong_name: ServerCertificate  # signed by `ca`, for wrong.example / 127.0.0.2


def make_test_pki(directory: Path) -> TestPKI:
    ca = make_ca(directory, "ca", "Tickwire Test CA")
    other = make_ca(directory, "other-ca", "Unrelated Test CA")
    return TestPKI(
        ca=ca,
        server=issue_server_cert(ca, directory, "server"),
        other_ca=other,
        server_other_ca=issue_server_cert(other, directory, "server-other-ca"),
        server_wrong_name=issue_server_cert(ca, directory, "server-wrong-name",
                                            sans=("DNS:wrong.example", "IP:127.0.0.2")),
    )


def client_ssl_context(ca: CertificateAuthority) -> ssl.SSLContext:
    """A Python client context that trusts only `ca` (for checking the fake itself)."""
    context = ssl.create_default_context(cafile=str(ca.cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# --------------------------------------------------------------------------
# Recorded data
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Frame:
    """One recorded combined-stream frame, sent as is."""
    text: str
    stream: str      # "btcusdt@trade"
    symbol: str      # "BTCUSDT"
    trade_id: int


def frame_from_line(line: str) -> Frame:
    envelope = json.loads(line)
    data = envelope["data"]
    trade_id = data["t"] if data.get("e") == "trade" else data["a"]
    return Frame(text=line, stream=envelope["stream"], symbol=data["s"], trade_id=trade_id)


def frames_from_lines(lines: Iterable[str]) -> list[Frame]:
    return [frame_from_line(line) for line in lines if line.strip()]


def load_frames(path: Path, limit: int | None = None) -> list[Frame]:
    with path.open() as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    return frames_from_lines(lines[:limit] if limit is not None else lines)


def looped_frames(lines: Sequence[str], copies: int) -> list[Frame]:
    """The recording repeated `copies` times: each copy's trade ids continue the
    previous copy's per symbol (so ids stay consecutive) and its times move on
    by the recording's span, as if the market had gone on."""
    envelopes = [json.loads(line) for line in lines if line.strip()]
    times = [e["data"]["E"] for e in envelopes]
    time_step_ms = max(times) - min(times) + 50
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for e in envelopes:
        s, t = e["data"]["s"], e["data"]["t"]
        first[s] = min(first.get(s, t), t)
        last[s] = max(last.get(s, t), t)
    span = {s: last[s] - first[s] + 1 for s in first}
    out = []
    for k in range(copies):
        for e in envelopes:
            if k == 0:
                out.append(frame_from_line(json.dumps(e, separators=(",", ":"))))
                continue
            d = dict(e["data"])
            d["E"] += k * time_step_ms
            d["T"] += k * time_step_ms
            d["t"] += k * span[d["s"]]
            out.append(frame_from_line(json.dumps({"stream": e["stream"], "data": d}, separators=(",", ":"))))
    return out


def as_agg_trades(frames: Sequence[Frame]) -> list[Frame]:
    """The same trades on the `@aggTrade` streams, one aggregate per trade
    (a = f = l = the trade id), in Binance's aggTrade shape."""
    out = []
    for frame in frames:
        envelope = json.loads(frame.text)
        d = envelope["data"]
        agg = {"e": "aggTrade", "E": d["E"], "s": d["s"], "a": d["t"], "p": d["p"], "q": d["q"],
               "f": d["t"], "l": d["t"], "T": d["T"], "m": d["m"], "M": d.get("M", True)}
        stream = envelope["stream"].replace("@trade", "@aggTrade")
        out.append(frame_from_line(json.dumps({"stream": stream, "data": agg}, separators=(",", ":"))))
    return out


def altered_frame(frame: Frame, **data: object) -> str:
    """The frame's text with fields of its event replaced (t=…, p=…): a
    poisoned id, a zero price. Serialised like the recording (no spaces)."""
    envelope = json.loads(frame.text)
    envelope["data"].update(data)
    return json.dumps(envelope, separators=(",", ":"))


def server_shutdown_event(event_time_ms: int | None = None) -> str:
    """Binance's notice that this connection will be closed soon."""
    when = event_time_ms if event_time_ms is not None else time.time_ns() // 1_000_000
    return json.dumps({"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": when}},
                      separators=(",", ":"))


def kline_event(symbol: str = "BTCUSDT") -> str:
    """A well-formed frame of a kind the trade feed never asked for."""
    now = time.time_ns() // 1_000_000
    return json.dumps({"stream": f"{symbol.lower()}@kline_1m", "data": {
        "e": "kline", "E": now, "s": symbol, "k": {
            "t": now - now % 60000, "T": now - now % 60000 + 59999, "s": symbol, "i": "1m",
            "f": 100, "L": 200, "o": "0.0010", "c": "0.0020", "h": "0.0025", "l": "0.0015",
            "v": "1000", "n": 100, "x": False, "q": "1.0000", "V": "500", "Q": "0.500", "B": "123456"}}},
        separators=(",", ":"))


# --------------------------------------------------------------------------
# What the fake saw
# --------------------------------------------------------------------------

@dataclasses.dataclass
class ConnectionRecord:
    """One TCP connection accepted by the fake (an attempt, whatever became of it)."""
    id: int
    accepted_mono: float
    accepted_wall_ns: int
    tls_version: str | None = None
    tls_error: str | None = None          # the server side's view of a failed handshake
    path: str | None = None               # path and query of the HTTP request
    request_mono: float | None = None
    status: int | None = None             # HTTP status answered (101 on success)
    opened_mono: float | None = None      # 101 sent: streaming from here
    streams: tuple[str, ...] = ()
    closed_mono: float | None = None      # TCP connection gone
    close_code_received: int | None = None  # from the client's close frame, if any
    close_reason_received: str | None = None
    close_code_sent: int | None = None
    close_received_first: bool | None = None  # the client started the closing handshake
    dropped_mono: float | None = None     # the fake cut it (drop)
    stalled_mono: float | None = None
    server_shutdown_mono: float | None = None
    pings: list[tuple[float, bytes]] = dataclasses.field(default_factory=list)
    pongs: list[tuple[float, bytes]] = dataclasses.field(default_factory=list)
    text_frames_received: int = 0
    trades_sent: int = 0
    frames_sent: int = 0
    last_frame_mono: float | None = None  # when the last frame was handed to TLS

    def copy(self) -> "ConnectionRecord":
        return dataclasses.replace(self, pings=list(self.pings), pongs=list(self.pongs))

    @property
    def is_open(self) -> bool:
        return self.opened_mono is not None and self.closed_mono is None


class _Outgoing:
    """One item queued for a connection: a text or binary frame, or a close."""
    __slots__ = ("kind", "payload", "is_trade")

    def __init__(self, kind: str, payload, is_trade: bool = False) -> None:
        self.kind = kind
        self.payload = payload
        self.is_trade = is_trade


class _FakeConnection(ServerConnection):
    """websockets' server connection plus the fake's bookkeeping and fault hooks."""

    fake: "FakeBinance"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record = self.fake._on_accept(self)
        self.outbox: collections.deque[_Outgoing] = collections.deque()
        self.wakeup = asyncio.Event()
        self.subscribed: frozenset[str] = frozenset()
        self.stalled = False
        self.hold_until = 0.0  # loop time before which nothing is sent (a lagging connection)
        self.sender_task: asyncio.Task | None = None

    def process_event(self, event) -> None:
        if self.request is not None:
            opcode = event.opcode
            if opcode is Opcode.PING:
                self.fake._note(lambda: self.record.pings.append((time.monotonic(), bytes(event.data))))
            elif opcode is Opcode.PONG:
                self.fake._note(lambda: self.record.pongs.append((time.monotonic(), bytes(event.data))))
            elif opcode is Opcode.TEXT:
                self.fake._note(lambda: setattr(self.record, "text_frames_received",
                                                self.record.text_frames_received + 1))
        super().process_event(event)

    def data_received(self, data: bytes) -> None:
        # A stalled connection reads nothing: no pong, no close handshake. The
        # client sees a peer that went silent while TCP stays up.
        if self.stalled:
            return
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        protocol = self.protocol

        def record() -> None:
            r = self.record
            r.closed_mono = time.monotonic()
            if protocol.close_rcvd is not None:
                r.close_code_received = int(protocol.close_rcvd.code)
                r.close_reason_received = protocol.close_rcvd.reason
            if protocol.close_sent is not None:
                r.close_code_sent = int(protocol.close_sent.code)
            r.close_received_first = protocol.close_rcvd_then_sent
        self.fake._note(record)
        self.wakeup.set()


# --------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------

class FakeBinance:
    """See the module docstring. Start with `start()`, stop with `stop()`."""

    def __init__(self, frames: Sequence[Frame], certificate: ServerCertificate, rate: float = 100.0,
                 paused: bool = True, tls_max_version: ssl.TLSVersion | None = None,
                 ping_interval: float | None = None) -> None:
        assert rate > 0
        self.frames = list(frames)
        self.certificate = certificate
        self._tls_max_version = tls_max_version
        self._ping_interval = ping_interval
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._records: list[ConnectionRecord] = []
        self._tls_pending: collections.deque[ConnectionRecord] = collections.deque()
        self._conns: dict[int, _FakeConnection] = {}
        # Clock (mutated on the loop thread only; read under the lock).
        self._rate = float(rate)
        self._running = not paused
        self._position = 0
        self._base_index = 0
        self._base_time = 0.0
        self._published: list[int] = []            # indices sent to whoever was open
        self._skipped: list[int] = []               # indices passed over with nobody served
        self._publish_wall_ns: dict[int, int] = {}
        self._receivers: dict[int, int] = {}        # index -> how many connections got it
        self._injections: dict[int, list[_Outgoing]] = collections.defaultdict(list)
        # Handshake refusals.
        self._refuse_remaining = 0
        self._refuse_status = 503
        self._refuse_retry_after: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._clock_task: asyncio.Task | None = None
        self._clock_wakeup: asyncio.Event | None = None
        self.port: int | None = None
        self.api = fake_binance_api.FakeHistoryAPI(self)

    # ----- lifecycle ---------------------------------------------------------

    def start(self, timeout_s: float = CONTROL_TIMEOUT_S) -> int:
        """Starts the loop thread and the TLS listener on 127.0.0.1:0; returns the port."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-binance")
        self._thread.start()
        self.port = self._call(self._start_async(), timeout_s)
        return self.port

    def stop(self, timeout_s: float = CONTROL_TIMEOUT_S) -> None:
        if self._loop is None:
            return
        try:
            self._call(self._stop_async(), timeout_s)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
            if not self._thread.is_alive():
                self._loop.close()
            self._loop = None

    def __enter__(self) -> "FakeBinance":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def api_url(self, host: str = "127.0.0.1") -> str:
        """The --binance-api-url for tickwire (the WebSocket API's trade history)."""
        assert self.api.port is not None, "fake not started"
        return f"wss://{host}:{self.api.port}/ws-api/v3"

    def url(self, host: str = "127.0.0.1") -> str:
        """The --binance-url for tickwire (it appends ?streams=…)."""
        assert self.port is not None, "fake not started"
        return f"wss://{host}:{self.port}/stream"

    # ----- the clock ---------------------------------------------------------

    def resume(self, rate: float | None = None) -> None:
        """Starts (or restarts) the clock from the current position."""
        def go() -> None:
            if rate is not None:
                assert rate > 0
                self._rate = float(rate)
            self._running = True
            self._base_index = self._position
            self._base_time = self._loop.time()
            self._clock_wakeup.set()
        self._run_on_loop(go)

    def pause(self) -> int:
        """Stops the clock; returns the position (trades published or skipped so far)."""
        def stop() -> int:
            self._running = False
            return self._position
        return self._run_on_loop(stop)

    def publish_now(self, n: int) -> list[int]:
        """Moves the clock `n` trades at once, sending them to whoever is open."""
        def step() -> list[int]:
            end = min(self._position + n, len(self.frames))
            out = list(range(self._position, end))
            for _ in out:
                self._publish_next()
            if self._running:
                self._base_index, self._base_time = self._position, self._loop.time()
            return out
        return self._run_on_loop(step)

    def skip(self, n: int, require_no_open_connection: bool = True) -> list[Frame]:
        """Moves the clock `n` trades without sending them to anyone: the trades
        that happened while no client listened. Fails if a connection is open
        (so the size of the gap a client sees is exactly what was skipped)."""
        def step() -> list[Frame]:
            listening = [c.record.id for c in self._live_connections()]
            if require_no_open_connection and listening:
                raise RuntimeError(f"skip() while connections {listening} would receive trades")
            end = min(self._position + n, len(self.frames))
            indices = list(range(self._position, end))
            with self._lock:
                self._skipped.extend(indices)
                self._position = end
                self._changed.notify_all()
            if self._running:
                self._base_index, self._base_time = self._position, self._loop.time()
            return [self.frames[i] for i in indices]
        return self._run_on_loop(step)

    def position(self) -> int:
        with self._lock:
            return self._position

    def published_indices(self) -> list[int]:
        with self._lock:
            return list(self._published)

    def published_frames(self) -> list[Frame]:
        return [self.frames[i] for i in self.published_indices()]

    def skipped_frames(self) -> list[Frame]:
        with self._lock:
            return [self.frames[i] for i in self._skipped]

    def publish_wall_ns(self, index: int) -> int:
        with self._lock:
            return self._publish_wall_ns[index]

    def receivers(self, index: int) -> int:
        """How many connections the trade at `index` was queued to."""
        with self._lock:
            return self._receivers.get(index, 0)

    def wait_position(self, position: int, timeout_s: float) -> None:
        self.wait_for(lambda: self._position >= min(position, len(self.frames)), timeout_s,
                      f"clock position >= {position}")

    # ----- faults ------------------------------------------------------------

    def refuse_next(self, n: int, status: int = 503, retry_after: str | int | None = None) -> None:
        """The next `n` WebSocket handshakes get `status` (and Retry-After) instead of 101."""
        with self._lock:
            self._refuse_remaining = n
            self._refuse_status = status
            self._refuse_retry_after = None if retry_after is None else str(retry_after)

    def drop(self, conn_id: int, reset: bool = False) -> None:
        """Cuts the connection without a close frame or TLS close_notify: FIN, or RST with `reset`."""
        def cut() -> None:
            conn = self._conns[conn_id]
            if reset:
                sock = conn.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._note(lambda: setattr(conn.record, "dropped_mono", time.monotonic()))
            conn.transport.abort()
        self._run_on_loop(cut)

    def stall(self, conn_id: int) -> None:
        """From now on the connection sends nothing and reads nothing (pings go unanswered)."""
        def freeze() -> None:
            conn = self._conns[conn_id]
            conn.stalled = True
            self._note(lambda: setattr(conn.record, "stalled_mono", time.monotonic()))
        self._run_on_loop(freeze)

    def hold(self, conn_id: int, seconds: float) -> None:
        """Makes the connection lag: what is published meanwhile queues up and
        is sent, in order, `seconds` from now (the client sees a late, then
        bursty, but complete stream)."""
        def delay() -> None:
            conn = self._conns[conn_id]
            conn.hold_until = self._loop.time() + seconds
            self._loop.call_later(seconds, conn.wakeup.set)
        self._run_on_loop(delay)

    def inject(self, conn_id: int, frames: Sequence[str | bytes]) -> None:
        """Queues frames (str: TEXT, bytes: BINARY) on a connection, after what is queued."""
        def queue() -> None:
            conn = self._conns[conn_id]
            for f in frames:
                conn.outbox.append(_Outgoing("binary" if isinstance(f, bytes) else "text", f))
            conn.wakeup.set()
        self._run_on_loop(queue)

    def inject_at(self, index: int, frames: Sequence[str | bytes]) -> None:
        """Sends `frames` to every open connection just before the trade at `index`."""
        def plan() -> None:
            assert index >= self._position, f"index {index} already passed ({self._position})"
            self._injections[index].extend(
                _Outgoing("binary" if isinstance(f, bytes) else "text", f) for f in frames)
        self._run_on_loop(plan)

    def send_server_shutdown(self, conn_id: int, close_after_s: float, close_code: int = 1000,
                             event_time_ms: int | None = None) -> None:
        """Sends the serverShutdown event on the connection (in order with its
        trades), keeps streaming to it, and closes it `close_after_s` later."""
        text = server_shutdown_event(event_time_ms)

        def announce() -> None:
            conn = self._conns[conn_id]
            conn.outbox.append(_Outgoing("text", text))
            conn.wakeup.set()
            self._note(lambda: setattr(conn.record, "server_shutdown_mono", time.monotonic()))
            self._loop.call_later(close_after_s, self._queue_close, conn, close_code)
        self._run_on_loop(announce)

    def close(self, conn_id: int, code: int = 1000) -> None:
        """Closes the connection with a close frame, after the frames already queued."""
        self._run_on_loop(lambda: self._queue_close(self._conns[conn_id], code))

    def ping(self, conn_id: int, payload: bytes, timeout_s: float) -> float:
        """Sends a ping with `payload`; returns the seconds until the pong with
        the same payload (websockets matches payloads). TimeoutError if none."""
        async def probe() -> float:
            conn = self._conns[conn_id]
            waiter = await conn.ping(payload)
            return await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        return self._call(probe(), timeout_s + CONTROL_TIMEOUT_S)

    # ----- what was seen -----------------------------------------------------

    def connections(self) -> list[ConnectionRecord]:
        """Every accepted TCP connection so far, in accept order."""
        with self._lock:
            return [r.copy() for r in self._records]

    def connection(self, conn_id: int) -> ConnectionRecord:
        with self._lock:
            return self._records[conn_id - 1].copy()

    def websocket_connections(self) -> list[ConnectionRecord]:
        """Connections that got 101 (streaming was possible)."""
        return [r for r in self.connections() if r.opened_mono is not None]

    def open_connections(self) -> list[ConnectionRecord]:
        return [r for r in self.connections() if r.is_open]

    def attempt_times(self) -> list[float]:
        """Monotonic accept time of every connection attempt."""
        return [r.accepted_mono for r in self.connections()]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Waits until `predicate()` (called under the fake's lock, on its live state) holds."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = "; ".join(describe_connection(r) for r in self._records) or "no connection attempt"
                    raise AssertionError(f"fake Binance: no {what} within {timeout_s}s "
                                         f"(clock at {self._position}). Connections: {summary}")
                self._changed.wait(min(remaining, 0.2))

    def wait_attempts(self, n: int, timeout_s: float) -> list[ConnectionRecord]:
        self.wait_for(lambda: len(self._records) >= n, timeout_s, f"{n} connection attempts")
        return self.connections()

    def wait_open(self, conn_id: int, timeout_s: float) -> ConnectionRecord:
        """Waits until connection `conn_id` (1-based, by accept order) completed its handshake."""
        self.wait_for(lambda: len(self._records) >= conn_id and self._records[conn_id - 1].opened_mono is not None,
                      timeout_s, f"open WebSocket connection #{conn_id}")
        return self.connection(conn_id)

    def wait_websocket_count(self, n: int, timeout_s: float) -> list[ConnectionRecord]:
        self.wait_for(lambda: sum(1 for r in self._records if r.opened_mono is not None) >= n,
                      timeout_s, f"{n} WebSocket connections")
        return self.websocket_connections()

    def wait_closed(self, conn_id: int, timeout_s: float) -> ConnectionRecord:
        self.wait_for(lambda: self._records[conn_id - 1].closed_mono is not None, timeout_s,
                      f"close of connection #{conn_id}")
        return self.connection(conn_id)

    def wait_sent(self, conn_id: int, timeout_s: float) -> None:
        """Waits until everything queued on the connection was handed to TLS."""
        def empty() -> bool:
            conn = self._conns.get(conn_id)
            return conn is None or not conn.outbox and conn.transport.get_write_buffer_size() == 0
        deadline = time.monotonic() + timeout_s
        while not self._run_on_loop(empty):
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Binance: connection #{conn_id} still has output queued "
                                     f"after {timeout_s}s")
            time.sleep(0.01)

    # ----- loop-thread internals ---------------------------------------------

    def _call(self, coro, timeout_s: float):
        assert self._loop is not None, "fake not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def _run_on_loop(self, fn: Callable, timeout_s: float = CONTROL_TIMEOUT_S):
        async def run():
            return fn()
        return self._call(run(), timeout_s)

    def _note(self, change: Callable[[], None]) -> None:
        """Applies a change to the records under the lock and wakes waiters."""
        with self._changed:
            change()
            self._changed.notify_all()

    async def _start_async(self) -> int:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self._tls_max_version is not None:
            context.maximum_version = self._tls_max_version
        context.load_cert_chain(str(self.certificate.cert), str(self.certificate.key))
        context.sslobject_class = self._recording_sslobject_class()
        fake = self

        class Connection(_FakeConnection):
            pass
        Connection.fake = fake
        self._clock_wakeup = asyncio.Event()
        self._server = await serve(self._handle, "127.0.0.1", 0, ssl=context,
                                   create_connection=Connection, process_request=self._process_request,
                                   ping_interval=self._ping_interval, ping_timeout=None,
                                   close_timeout=2, compression=None, max_size=2**20,
                                   server_header="fake-binance")
        await self.api.start(self.certificate)
        self._base_time = asyncio.get_running_loop().time()
        self._clock_task = asyncio.get_running_loop().create_task(self._clock())
        return self._server.sockets[0].getsockname()[1]

    async def _stop_async(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
        await self.api.stop()
        for conn in list(self._conns.values()):
            if conn.sender_task is not None:
                conn.sender_task.cancel()
            transport = getattr(conn, "transport", None)  # none if TLS never completed
            if transport is not None and not transport.is_closing():
                transport.abort()
        if self._server is not None:
            self._server.close(close_connections=False)
            try:
                await asyncio.wait_for(self._server.wait_closed(), 5)
            except (TimeoutError, asyncio.TimeoutError):
                pass

    def _recording_sslobject_class(self):
        fake = self

        class RecordingSSLObject(ssl.SSLObject):
            """Ties each server-side TLS session to its connection record, to
            record the negotiated version or why the handshake failed."""

            @classmethod
            def _create(cls, *args, **kwargs):
                obj = super()._create(*args, **kwargs)
                # SSLProtocol.connection_made (which wraps the BIO) runs in accept order.
                obj._tw_record = fake._tls_pending.popleft() if fake._tls_pending else None
                return obj

            def do_handshake(self) -> None:
                record = getattr(self, "_tw_record", None)
                try:
                    super().do_handshake()
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    raise
                except Exception as exc:
                    if record is not None:
                        why = f"{type(exc).__name__}: {exc}"
                        fake._note(lambda: setattr(record, "tls_error", why))
                    raise
                if record is not None:
                    version = self.version()
                    fake._note(lambda: setattr(record, "tls_version", version))
        return RecordingSSLObject

    def _on_accept(self, conn: _FakeConnection) -> ConnectionRecord:
        with self._changed:
            record = ConnectionRecord(id=len(self._records) + 1, accepted_mono=time.monotonic(),
                                      accepted_wall_ns=time.time_ns())
            self._records.append(record)
            self._changed.notify_all()
        self._tls_pending.append(record)
        self._conns[record.id] = conn
        return record

    def _process_request(self, conn: _FakeConnection, request):
        record = conn.record
        with self._changed:
            record.path = request.path
            record.request_mono = time.monotonic()
            refuse = self._refuse_remaining > 0
            if refuse:
                self._refuse_remaining -= 1
                status, retry_after = self._refuse_status, self._refuse_retry_after
            self._changed.notify_all()
        if refuse:
            phrase = http.HTTPStatus(status).phrase
            response = conn.respond(status, f"{phrase}\n")
            if retry_after is not None:
                response.headers["Retry-After"] = retry_after
            self._note(lambda: setattr(record, "status", status))
            return response
        parts = urlsplit(request.path)
        streams = parse_qs(parts.query).get("streams", [""])[0]
        if parts.path != "/stream" or not streams:
            self._note(lambda: setattr(record, "status", 400))
            return conn.respond(http.HTTPStatus.BAD_REQUEST, "expected /stream?streams=a@trade/b@trade\n")
        conn.subscribed = frozenset(s for s in streams.split("/") if s)
        self._note(lambda: (setattr(record, "status", 101),
                            setattr(record, "streams", tuple(streams.split("/")))))
        return None

    async def _handle(self, conn: _FakeConnection) -> None:
        self._note(lambda: setattr(conn.record, "opened_mono", time.monotonic()))
        conn.sender_task = asyncio.get_running_loop().create_task(self._sender(conn))
        try:
            await conn.wait_closed()
        finally:
            conn.sender_task.cancel()

    async def _sender(self, conn: _FakeConnection) -> None:
        record = conn.record
        try:
            while True:
                await conn.wakeup.wait()
                conn.wakeup.clear()
                while conn.outbox and not conn.stalled and conn.protocol.state is State.OPEN:
                    if conn.hold_until > conn.loop.time():
                        break  # hold() set a wakeup for when it ends
                    item = conn.outbox.popleft()
                    if item.kind == "close":
                        await conn.close(item.payload)
                        return
                    await conn.send(item.payload)
                    now = time.monotonic()
                    with self._lock:
                        record.frames_sent += 1
                        record.trades_sent += item.is_trade
                        record.last_frame_mono = now
                if conn.protocol.state is not State.OPEN:
                    return
        except Exception:
            return  # the connection is gone; connection_lost recorded how

    def _queue_close(self, conn: _FakeConnection, code: int) -> None:
        conn.outbox.append(_Outgoing("close", code))
        conn.wakeup.set()

    def _publish_next(self) -> None:
        index = self._position
        for item in self._injections.pop(index, ()):
            for conn in self._live_connections():
                conn.outbox.append(item)
                conn.wakeup.set()
        frame = self.frames[index]
        receivers = 0
        item = _Outgoing("text", frame.text, is_trade=True)
        for conn in self._live_connections():
            if frame.stream in conn.subscribed:
                conn.outbox.append(item)
                conn.wakeup.set()
                receivers += 1
        with self._changed:
            self._published.append(index)
            self._publish_wall_ns[index] = time.time_ns()
            self._receivers[index] = receivers
            self._position = index + 1
            self._changed.notify_all()

    def _live_connections(self) -> list[_FakeConnection]:
        return [c for c in self._conns.values()
                if c.record.opened_mono is not None and not c.stalled and c.protocol.state is State.OPEN
                and not c.transport.is_closing()]

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._running or self._position >= len(self.frames):
                self._clock_wakeup.clear()
                await self._clock_wakeup.wait()
                continue
            due = self._base_index + int((loop.time() - self._base_time) * self._rate)
            while self._position < min(due, len(self.frames)):
                self._publish_next()
            next_due = self._base_time + (self._position - self._base_index + 1) / self._rate
            await asyncio.sleep(max(0.0, min(next_due - loop.time(), 0.05)))


def describe_connection(r: ConnectionRecord) -> str:
    parts = [f"#{r.id} accepted"]
    if r.tls_error:
        parts.append(f"tls failed ({r.tls_error})")
    elif r.tls_version:
        parts.append(r.tls_version)
    if r.path is not None:
        parts.append(f"GET {r.path} -> {r.status}")
    if r.closed_mono is not None:
        parts.append(f"closed (code received {r.close_code_received})")
    return " ".join(parts)


# --------------------------------------------------------------------------
# Manual use: serve the fixture for a hand-run tickwire
# --------------------------------------------------------------------------

def main() -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Serve recorded Binance trades over TLS on 127.0.0.1.")
    parser.add_argument("--rate", type=float, default=100.0, help="trades per second")
    parser.add_argument("--fixture", type=Path,
                        default=Path(__file__).resolve().parents[1] / "Fixtures" /
                        "binance-2024-08-08-btcusdt-ethusdt-trades.jsonl")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fake-binance-") as tmp:
        ca = make_ca(Path(tmp))
        cert = issue_server_cert(ca, Path(tmp))
        fake = FakeBinance(load_frames(args.fixture), cert, rate=args.rate, paused=False)
        fake.start()
        print(f"--binance-url {fake.url()} --binance-ca-file {ca.cert}", flush=True)
        try:
            time.sleep(args.seconds)
        finally:
            fake.stop()
            for r in fake.connections():
                print(describe_connection(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


@contextlib.contextmanager
def started_fakes(default_rate: float):
    """A factory of started fakes, make(frames, certificate, rate=...), each
    stopped when the block ends. Tests list their fixture before
    start_server, so tickwire stops (and closes its feed) before its fake."""
    made: list[FakeBinance] = []

    def make(frames, certificate, rate: float = default_rate, **kwargs) -> FakeBinance:
        fake = FakeBinance(frames, certificate, rate=rate, **kwargs)
        fake.start()
        made.append(fake)
        return fake

    try:
        yield make
    finally:
        for fake in made:
            fake.stop()
