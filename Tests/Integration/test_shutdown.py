"""Graceful shutdown over the real binary: SIGTERM/SIGINT while trades flow.

Contract under test (the server's shutdown, phase by phase):
1. On the first SIGTERM or SIGINT, grpc.health.v1.Health turns NOT_SERVING at
   once (Check, and a message on every open Watch); each connection gets
   GOAWAY(2^31-1) and a PING, then GOAWAY(last stream id) on the PING's ACK (or
   after 1 s); the listener closes, so a new connection is refused.
2. Drain (--drain-timeout, default 5s): every open StreamPrices stream gets one
   ShutdownNotice{deadline_unix_ms = signal wall time + drain} and keeps
   receiving prices and indicator batches. When no StreamPrices stream is left
   the drain ends early.
3. Stop: every stream still open ends with UNAVAILABLE "server shutting down";
   output is flushed for at most --stop-flush-timeout (500ms), so a client that
   does not read cannot hold the process. Exit code 0 within drain + 1 s of the
   first signal; a second signal during the drain skips to the stop.
4. Logs: `signal received`, `draining`, `stopping`, `stopped serving`, `stopped`.

Why the replay runs at 5x the recorded pace (~230 trades/s): twenty grpcio
readers in one Python process keep up with ~4,600 messages/s on two shared
cores, but fall seconds behind at 20x. A reader that lags holds data the bounded
stop flush may legitimately cut off, and its notice would arrive late, so the
checks would measure the client instead of the server.

Tests: twenty readers drained by SIGTERM (health, listener, notices, prices,
trades, trailers, exit, logs); the double GOAWAY's frame order on a raw
connection; the same drain with a reader that stopped reading; every reader
cancelling during the drain; a second signal during the drain. Health Check
is polled on a raw HTTP/2 connection (RawHealthProber says why), and the readers
half-close their send side (reader_requests says why).

The scenario driver (`run_shutdown`) is shared with bench/load/shutdown_timing.py.
"""

from __future__ import annotations

import dataclasses
import signal
import socket
import threading
import time
from typing import Callable, Iterator

import grpc
import hpack
import pytest
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame)

import h2_client
import harness

# --- the scenario -----------------------------------------------------------

PACED_SPEED = "5"
READERS = 20
READER_CHANNELS = 4
# Readers that also hold an SMA subscription, to see batches during the drain.
INDICATOR_READERS = 4
# How long trades flow before the signal: long enough for the stalled reader's
# 4 KiB stream window to be full and a backlog to wait behind it.
FLOW_BEFORE_SIGNAL_S = 2.0
DRAIN_ARG, DRAIN_S = "2s", 2.0
DEFAULT_DRAIN_S = 5.0
STALLED_WINDOW_BYTES = 4096
# Pre-opened Health/Check streams on the raw prober (the server allows 100).
PROBE_STREAMS = 90
PROBE_INTERVAL_S = 0.0015

# --- the bounds ---------------------------------------------------------------

# The server must handle the signal, and so flip health, within this...
HEALTH_FLIP_BOUND_S = 0.100
# ...and the probes must see NOT_SERVING within this: their own scheduling
# counts here, and starved of CPU a Python client alone can take 100 ms.
HEALTH_SEEN_BOUND_S = 0.250
# The server's signal time is in whole ms; ours is truncated the same way.
SIGNAL_STAMP_SLACK_MS = 2
DEADLINE_TOLERANCE_MS = 250
REFUSED_BOUND_S = 0.200
EXIT_SLACK_S = 1.0
SECOND_SIGNAL_EXIT_BOUND_S = 0.7
# The last price a reader gets must have been published this close to the
# deadline: the fixture's longest gap between trades is 1,066 ms, 213 ms at 5x.
LAST_PRICE_BEFORE_DEADLINE_MS = 500
# The notice goes out in the loop iteration that handles the signal; prices
# carry the server's wall clock in ms-truncated units on the notice's side.
NOTICE_ORDER_SLACK_MS = 2
NOTICES_TIMEOUT_S = 5.0
READERS_FINISH_TIMEOUT_S = 10.0
UNAVAILABLE_DETAILS = "server shutting down"
GOAWAY_FIRST_LAST_STREAM_ID = 2**31 - 1

NOT_SERVING = "NOT_SERVING"
SERVING = "SERVING"


@dataclasses.dataclass(frozen=True)
class Stamp:
    """One instant on both clocks: monotonic for intervals, wall for the server's numbers."""
    mono: float
    wall_ns: int

    @staticmethod
    def now() -> "Stamp":
        return Stamp(time.monotonic(), time.time_ns())

    @property
    def wall_ms(self) -> int:
        return self.wall_ns // 1_000_000


class ExitWatcher:
    """Waits for the server process on a thread and stamps the moment it exits."""

    def __init__(self, server: harness.TickwireServer) -> None:
        self._server = server
        self._exited = threading.Event()
        self.at: Stamp | None = None
        threading.Thread(target=self._wait, daemon=True, name="exit-watcher").start()

    def _wait(self) -> None:
        self._server.proc.wait()
        self.at = Stamp.now()
        self._exited.set()

    def wait(self, timeout_s: float) -> Stamp | None:
        self._exited.wait(timeout_s)
        return self.at


# --- health: grpcio Watch, grpcio Check, raw HTTP/2 Check ---------------------

def health_modules():
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    return health_pb2, health_pb2_grpc


def status_name(status: int) -> str:
    health_pb2, _ = health_modules()
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


class HealthWatch:
    """One grpcio Health/Watch stream; every status it delivers, stamped."""

    def __init__(self, chan) -> None:
        health_pb2, health_pb2_grpc = health_modules()
        self._call = health_pb2_grpc.HealthStub(chan).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=60)
        self._cond = threading.Condition()
        self.statuses: list[tuple[float, str]] = []
        self.error: grpc.RpcError | None = None
        self.finished = False
        threading.Thread(target=self._run, daemon=True, name="health-watch").start()

    def _run(self) -> None:
        try:
            for response in self._call:
                with self._cond:
                    self.statuses.append((time.monotonic(), status_name(response.status)))
                    self._cond.notify_all()
        except grpc.RpcError as error:
            self.error = error
        finally:
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def wait_status(self, name: str, timeout_s: float) -> float | None:
        """Monotonic time the first `name` arrived, or None."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for at, status in self.statuses:
                    if status == name:
                        return at
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.finished:
                    return None
                self._cond.wait(remaining)

    def wait_finished(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.finished, timeout_s)

    def describe(self) -> str:
        end = (f"ended {self.error.code().name} {self.error.details()!r}" if self.error
               else ("ended OK" if self.finished else "open"))
        return f"statuses {[s for _, s in self.statuses]}, {end}"

    def cancel(self) -> None:
        self._call.cancel()


@dataclasses.dataclass
class CheckAnswer:
    sent_mono: float
    answered_mono: float
    outcome: str  # SERVING, NOT_SERVING, or "<code>: <details>" for a failed call


class GrpcCheckPoller:
    """Health/Check in a tight loop on an already-open grpcio channel.

    This is what a grpcio client sees, and it can only see NOT_SERVING by luck:
    once its connection receives the first GOAWAY, grpcio starts no new stream
    on it and the new connection it tries is refused, so its later Checks fail
    with UNAVAILABLE. RawHealthProber below is the deterministic probe; this one
    checks that no Check is answered SERVING once the flip was seen.
    """

    def __init__(self, chan, interval_s: float = 0.002) -> None:
        health_pb2, health_pb2_grpc = health_modules()
        self._stub = health_pb2_grpc.HealthStub(chan)
        self._request = health_pb2.HealthCheckRequest(service="")
        self._interval_s = interval_s
        self.answers: list[CheckAnswer] = []
        self._thread: threading.Thread | None = None

    def check(self) -> CheckAnswer:
        sent = time.monotonic()
        try:
            outcome = status_name(self._stub.Check(self._request, timeout=1.0).status)
        except grpc.RpcError as error:
            outcome = f"{error.code().name}: {error.details()}"
        return CheckAnswer(sent, time.monotonic(), outcome)

    def start(self, window_s: float) -> None:
        def run() -> None:
            end = time.monotonic() + window_s
            while time.monotonic() < end:
                self.answers.append(self.check())
                time.sleep(self._interval_s)
        self._thread = threading.Thread(target=run, daemon=True, name="grpc-check-poller")
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        if self._thread:
            self._thread.join(timeout_s)


@dataclasses.dataclass
class SeenFrame:
    mono: float
    kind: str       # GOAWAY, PING, PING_ACK_SENT
    detail: tuple   # (last_stream_id, error_code) for GOAWAY, () otherwise


@dataclasses.dataclass
class _ProbeStream:
    headers: list | None = None
    trailers: list | None = None
    data: bytes = b""
    reset_code: int | None = None
    ended_mono: float | None = None


class RawHealthProber:
    """Health/Check over raw HTTP/2, on streams opened before the signal.

    Streams opened before the signal stay valid through both GOAWAYs, so
    sending their request message one at a time after the signal polls Check
    on an already-open connection without depending on grpcio's reaction to
    GOAWAY. The reader thread ACKs SETTINGS and PING (so the server's second
    GOAWAY comes on the ACK) and records every GOAWAY and PING with its time.
    Built on hyperframe/hpack because h2 refuses to send after a GOAWAY.
    """

    PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    CHECK_PATH = "/grpc.health.v1.Health/Check"
    EMPTY_REQUEST = b"\x00\x00\x00\x00\x00"  # HealthCheckRequest{service: ""}, gRPC-framed

    def __init__(self, port: int, streams: int = PROBE_STREAMS) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._decoder = hpack.Decoder()
        self._streams: dict[int, _ProbeStream] = {}
        self.frames: list[SeenFrame] = []
        self.closed = False
        self._block = bytearray()  # the header block being assembled, and its END_STREAM
        self._block_ends = False
        encoder = hpack.Encoder()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", self.CHECK_PATH),
                   (":authority", f"127.0.0.1:{port}"), ("content-type", "application/grpc"),
                   ("te", "trailers")]
        self._unused = list(range(1, 2 * streams, 2))
        self.highest_stream_id = self._unused[-1]
        frames = [HeadersFrame(sid, encoder.encode(headers), flags=["END_HEADERS"]).serialize()
                  for sid in self._unused]
        for sid in self._unused:
            self._streams[sid] = _ProbeStream()
        self._send(self.PREFACE + SettingsFrame(0).serialize() + b"".join(frames))
        threading.Thread(target=self._read_loop, daemon=True, name="raw-health-prober").start()

    # --- I/O ---

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

    def _read_loop(self) -> None:
        buf = bytearray()
        try:
            while True:
                chunk = self.sock.recv(65_536)
                if not chunk:
                    break
                mono = time.monotonic()
                buf += chunk
                while len(buf) >= 9:
                    frame, length = Frame.parse_frame_header(memoryview(bytes(buf[:9])))
                    if len(buf) < 9 + length:
                        break
                    frame.parse_body(memoryview(bytes(buf[9:9 + length])))
                    del buf[:9 + length]
                    self._on_frame(frame, mono)
        except OSError:
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _on_frame(self, frame, mono: float) -> None:
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            self._send(SettingsFrame(0, flags=["ACK"]).serialize())
        elif isinstance(frame, PingFrame) and "ACK" not in frame.flags:
            with self._cond:
                self.frames.append(SeenFrame(mono, "PING", ()))
            self._send(PingFrame(0, opaque_data=frame.opaque_data, flags=["ACK"]).serialize())
            with self._cond:
                self.frames.append(SeenFrame(time.monotonic(), "PING_ACK_SENT", ()))
        elif isinstance(frame, GoAwayFrame):
            with self._cond:
                self.frames.append(SeenFrame(mono, "GOAWAY", (frame.last_stream_id, frame.error_code)))
                self._cond.notify_all()
        elif isinstance(frame, (HeadersFrame, ContinuationFrame, DataFrame, RstStreamFrame)):
            self._on_stream_frame(frame, mono)

    def _on_stream_frame(self, frame, mono: float) -> None:
        with self._cond:
            stream = self._streams.setdefault(frame.stream_id, _ProbeStream())
            if isinstance(frame, (HeadersFrame, ContinuationFrame)):
                # Every header block is decoded, in order, to keep HPACK's table in step.
                if isinstance(frame, HeadersFrame):
                    self._block, self._block_ends = bytearray(), "END_STREAM" in frame.flags
                self._block += frame.data
                if "END_HEADERS" not in frame.flags:
                    return
                block = self._decoder.decode(bytes(self._block))
                if stream.headers is None:
                    stream.headers = block
                else:
                    stream.trailers = block
                ended = self._block_ends
            elif isinstance(frame, DataFrame):
                stream.data += frame.data
                ended = "END_STREAM" in frame.flags
            else:
                stream.reset_code = frame.error_code
                ended = True
            if ended:
                stream.ended_mono = mono
                self._cond.notify_all()

    # --- probing ---

    def check(self, timeout_s: float = 1.0) -> CheckAnswer:
        """Sends the next pre-opened stream's request and waits for the answer."""
        stream_id = self._unused.pop(0)
        sent = time.monotonic()
        self._send(DataFrame(stream_id, self.EMPTY_REQUEST, flags=["END_STREAM"]).serialize())
        stream = self._streams[stream_id]
        with self._cond:
            self._cond.wait_for(lambda: stream.ended_mono is not None or self.closed, timeout_s)
            answered = stream.ended_mono if stream.ended_mono is not None else time.monotonic()
            return CheckAnswer(sent, answered, self._outcome(stream))

    def _outcome(self, stream: _ProbeStream) -> str:
        if stream.ended_mono is None:
            return "no answer" + (" (connection closed)" if self.closed else "")
        if stream.reset_code is not None:
            return f"RST_STREAM {stream.reset_code}"
        meta = dict((stream.trailers or []) + (stream.headers or []))
        if meta.get("grpc-status", "0") != "0" or len(stream.data) < 5:
            return f"grpc-status {meta.get('grpc-status')}: {meta.get('grpc-message')!r}"
        health_pb2, _ = health_modules()
        length = int.from_bytes(stream.data[1:5], "big")
        return status_name(health_pb2.HealthCheckResponse.FromString(stream.data[5:5 + length]).status)

    def poll_until_not_serving(self, window_s: float) -> list[CheckAnswer]:
        """Checks back to back (one every PROBE_INTERVAL_S at most) until
        NOT_SERVING, the window ends, or the pre-opened streams run out."""
        answers = []
        end = time.monotonic() + window_s
        while self._unused and time.monotonic() < end:
            answer = self.check()
            answers.append(answer)
            if answer.outcome == NOT_SERVING or self.closed:
                break
            time.sleep(max(0.0, answer.sent_mono + PROBE_INTERVAL_S - time.monotonic()))
        return answers

    def wait_goaways(self, count: int, timeout_s: float) -> list[SeenFrame]:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or sum(f.kind == "GOAWAY" for f in self.frames) >= count,
                                timeout_s)
            return [f for f in self.frames if f.kind == "GOAWAY"]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def connect_attempt(port: int, timeout_s: float = 1.0) -> tuple[str, float]:
    """(outcome, seconds) of one new TCP connection to the server's port."""
    started = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    except ConnectionRefusedError:
        return "refused", time.monotonic() - started
    except OSError as error:
        return f"failed: {error!r}", time.monotonic() - started
    sock.close()
    return "connected", time.monotonic() - started


# --- a reader that stopped reading --------------------------------------------

def tcp_queues(local_port: int) -> tuple[int, int] | None:
    """(tx_queue, rx_queue) bytes of the established IPv4 socket bound to `local_port`."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == local_port and fields[3] == "01":
                tx, rx = (int(v, 16) for v in fields[4].split(":"))
                return tx, rx
    return None


class StalledReader:
    """A StreamPrices stream on a raw HTTP/2 connection that is never read.

    A 4 KiB stream window and a 4 KiB socket receive buffer: the server can
    send almost nothing, so everything it publishes afterwards (the notice and
    the trailers included) stays queued behind the closed window. It never
    ACKs SETTINGS or PING and never sends WINDOW_UPDATE.
    """

    def __init__(self, port: int) -> None:
        import h2.settings
        self.connection = h2_client.RawH2Connection(port, recv_buffer_bytes=4096)
        self.connection.conn.update_settings(
            {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STALLED_WINDOW_BYTES})
        self.connection.flush()
        self.stream_id = self.connection.open_stream(
            h2_client.request_headers(port), body=h2_client.EMPTY_GRPC_MESSAGE, end_stream=False)
        self.local_port = self.connection.sock.getsockname()[1]

    def unread_bytes(self) -> int | None:
        queues = tcp_queues(self.local_port)
        return None if queues is None else queues[1]

    def close(self) -> None:
        self.connection.close()


# --- the scenario driver --------------------------------------------------------

@dataclasses.dataclass
class Plan:
    drain_arg: str | None = DRAIN_ARG  # None: the server's default
    drain_s: float = DRAIN_S
    readers: int = READERS
    stalled_reader: bool = False
    probe_health: bool = False
    cancel_after_notice: bool = False
    second_signal: int | None = None
    second_signal_delay_s: float = 0.5  # after every reader has its notice
    first_signal: int = signal.SIGTERM
    log_level: str | None = None


@dataclasses.dataclass
class Outcome:
    plan: Plan
    server: harness.TickwireServer
    readers: list[harness.StreamCollector]
    signal_at: Stamp
    exit_at: Stamp | None = None
    returncode: int | None = None
    notices_by_all: bool = False
    stalled_unread_bytes: int | None = None
    second_signal_at: Stamp | None = None
    cancelled_at: Stamp | None = None
    watch: HealthWatch | None = None
    raw_checks: list[CheckAnswer] = dataclasses.field(default_factory=list)
    raw_check_before: CheckAnswer | None = None
    prober_frames: list[SeenFrame] = dataclasses.field(default_factory=list)
    prober_highest_stream_id: int | None = None
    grpc_checks: list[CheckAnswer] = dataclasses.field(default_factory=list)
    watch_not_serving_mono: float | None = None
    connect: tuple[str, float] | None = None
    connect_started_mono: float | None = None

    @property
    def signal_to_exit_s(self) -> float | None:
        return None if self.exit_at is None else self.exit_at.mono - self.signal_at.mono

    def log_line(self, message: str) -> str:
        lines = self.server.log.matching(rf"\b{message}\"?\s*$")
        assert lines, f"no `{message}` log line; log tail:\n{self.server.log.tail(30)}"
        return lines[0]

    def trades_published(self) -> int:
        return harness.metadata_int(self.log_line("stopped"), "trades_published")


def sma_subscription(name: str):
    pb, _ = harness.stubs()
    return pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol="BTCUSDT",
                               type=pb.INDICATOR_TYPE_SMA, period=5, request_id=f"{name}-sma")


def reader_requests(index: int) -> Iterator:
    """What reader `index` sends: an SMA subscription for the first few, then
    it half-closes, as a listen-only client does.

    Not held open: grpcio cannot report the server's trailers reliably on a
    stream whose send side is still open. When the server closes the connection
    right after the trailers, grpc-core has parsed them (GRPC_TRACE=http shows
    them on every connection) but it sometimes, about one connection in 30 with
    five such streams, fails all that connection's calls with UNAVAILABLE
    "Stream removed (Socket closed (GOAWAY received...))" instead. With
    half-closed readers the status a reader sees is the one the server sent.
    """
    return iter([sma_subscription(f"reader{index}")] if index < INDICATOR_READERS else [])


class NoticeTracker:
    """Which readers have received their ShutdownNotice (scans only new items)."""

    def __init__(self, readers: list[harness.StreamCollector]) -> None:
        self._readers = readers
        self._scanned = [0] * len(readers)
        self._seen = [False] * len(readers)

    def all_seen(self) -> bool:
        for i, reader in enumerate(self._readers):
            if self._seen[i]:
                continue
            items = reader.items[self._scanned[i]:]
            self._scanned[i] += len(items)
            self._seen[i] = any(item.response.WhichOneof("payload") == "shutdown" for item in items)
        return all(self._seen)


@dataclasses.dataclass
class Clients:
    """Everything run_shutdown connects to the server."""
    readers: list[harness.StreamCollector]
    stalled: StalledReader | None = None
    watch: HealthWatch | None = None
    prober: RawHealthProber | None = None
    poller: GrpcCheckPoller | None = None

    def close(self) -> None:
        for closable in (self.stalled, self.prober):
            if closable:
                closable.close()
        if self.watch:
            self.watch.cancel()


def run_shutdown(plan: Plan, start_server: Callable, make_channel: Callable,
                 make_collector: Callable) -> Outcome:
    """Starts a paced replay to `plan.readers` readers, signals while trades
    flow, and records everything the tests and the timing script look at.
    Every wait is bounded; nothing here asserts on the server's behaviour."""
    extra = ["--drain-timeout", plan.drain_arg] if plan.drain_arg else []
    server = start_server(replay=harness.TRADES_FIXTURE, speed=PACED_SPEED,
                          wait_streams=plan.readers + (1 if plan.stalled_reader else 0),
                          log_level=plan.log_level, extra=extra)
    exit_watcher = ExitWatcher(server)
    clients = Clients(readers=[])
    try:
        open_clients(plan, server, clients, make_channel, make_collector)
        time.sleep(FLOW_BEFORE_SIGNAL_S)
        raw_before = clients.prober.check() if clients.prober else None
        grpc_before = clients.poller.check() if clients.poller else None
        stalled_unread = clients.stalled.unread_bytes() if clients.stalled else None
        if clients.poller:
            clients.poller.start(window_s=0.5)

        signal_at = Stamp.now()
        server.send_signal(plan.first_signal)
        outcome = Outcome(plan, server, clients.readers, signal_at, stalled_unread_bytes=stalled_unread,
                          watch=clients.watch, raw_check_before=raw_before)
        observe_the_flip(clients, outcome)
        drive_the_drain(plan, clients.readers, outcome)
        collect_the_end(plan, clients, exit_watcher, outcome)
        if clients.poller:
            outcome.grpc_checks = [grpc_before] + clients.poller.answers
        return outcome
    finally:
        clients.close()


def open_clients(plan: Plan, server: harness.TickwireServer, clients: Clients,
                 make_channel: Callable, make_collector: Callable) -> None:
    """The stalled reader and the health probes first, then the readers (the
    replay starts when the last StreamPrices stream opens)."""
    if plan.stalled_reader:
        clients.stalled = StalledReader(server.port)
    if plan.probe_health:
        clients.watch = HealthWatch(make_channel(server.target))
        clients.prober = RawHealthProber(server.port)
        clients.poller = GrpcCheckPoller(make_channel(server.target))
    channels = [make_channel(server.target) for _ in range(READER_CHANNELS)]
    for i in range(plan.readers):
        clients.readers.append(make_collector(channels[i % READER_CHANNELS], name=f"reader{i}",
                                              deadline_s=90, requests=reader_requests(i)).start())
    for reader in clients.readers:
        assert reader.wait_count(1, 20), (
            f"{reader.name} got nothing before the signal: {reader.describe_end()}\n{server.log.tail()}")


def observe_the_flip(clients: Clients, outcome: Outcome) -> None:
    """Right after the signal: Check on pre-opened streams, the Watch, a new connection."""
    if clients.prober:
        outcome.raw_checks = clients.prober.poll_until_not_serving(window_s=1.0)
    if clients.watch:
        # The Watch's NOT_SERVING and the listener's close happen in the same
        # loop iteration, so a connection attempted after it must be refused.
        outcome.watch_not_serving_mono = clients.watch.wait_status(NOT_SERVING, 1.0)
        outcome.connect_started_mono = time.monotonic()
        outcome.connect = connect_attempt(outcome.server.port)


def drive_the_drain(plan: Plan, readers: list[harness.StreamCollector], outcome: Outcome) -> None:
    """Waits for every notice, then cancels or signals again if the plan says so."""
    tracker = NoticeTracker(readers)
    outcome.notices_by_all = harness.wait_until(tracker.all_seen, NOTICES_TIMEOUT_S, 0.02)
    if plan.cancel_after_notice:
        for reader in readers:
            reader.call.cancel()
        outcome.cancelled_at = Stamp.now()
    if plan.second_signal is not None:
        time.sleep(plan.second_signal_delay_s)
        outcome.second_signal_at = Stamp.now()
        outcome.server.send_signal(plan.second_signal)


def collect_the_end(plan: Plan, clients: Clients, exit_watcher: ExitWatcher, outcome: Outcome) -> None:
    """The exit, the readers' ends, the prober's frames: each wait bounded."""
    outcome.exit_at = exit_watcher.wait(plan.drain_s + 5.0)
    outcome.returncode = outcome.server.proc.poll()
    harness.wait_until(lambda: all(r.finished for r in clients.readers), READERS_FINISH_TIMEOUT_S)
    if clients.prober:
        clients.prober.wait_goaways(2, 1.0)
        outcome.prober_frames = list(clients.prober.frames)
        outcome.prober_highest_stream_id = clients.prober.highest_stream_id
    if clients.watch:
        clients.watch.wait_finished(2.0)
    if clients.poller:
        clients.poller.join(2.0)
    outcome.server.log.join(2)


# --- what a reader received -------------------------------------------------------

@dataclasses.dataclass
class ReaderReport:
    name: str
    notices: list[harness.Received]
    prices_before: list[harness.Received]
    prices_after: list[harness.Received]
    batches_after: int
    statuses: list
    code: grpc.StatusCode | None
    details: str | None
    end: str


def reader_report(reader: harness.StreamCollector) -> ReaderReport:
    notices, before, after, statuses = [], [], [], []
    batches_after = 0
    for item in list(reader.items):
        kind = item.response.WhichOneof("payload")
        if kind == "shutdown":
            notices.append(item)
        elif kind == "price":
            (after if notices else before).append(item)
        elif kind == "indicators" and notices:
            batches_after += 1
        elif kind == "status":
            statuses.append(item.response.status)
    error = reader.error
    return ReaderReport(reader.name, notices, before, after, batches_after, statuses,
                        error.code() if error else None, error.details() if error else None,
                        reader.describe_end())


def id_gaps(trades: list[harness.Trade]) -> list[str]:
    last: dict[str, int] = {}
    gaps = []
    for trade in trades:
        previous = last.get(trade.symbol)
        if previous is not None and trade.trade_id != previous + 1:
            gaps.append(f"{trade.symbol} {previous} -> {trade.trade_id}")
        last[trade.symbol] = trade.trade_id
    return gaps


def notice_problems(report: ReaderReport, outcome: Outcome, drain_ms: int) -> list[str]:
    if len(report.notices) != 1:
        return [f"{len(report.notices)} ShutdownNotices, want exactly 1"]
    notice = report.notices[0].response.shutdown
    want = outcome.signal_at.wall_ms + drain_ms
    problems = []
    if abs(notice.deadline_unix_ms - want) > DEADLINE_TOLERANCE_MS:
        problems.append(f"notice deadline_unix_ms {notice.deadline_unix_ms} is "
                        f"{notice.deadline_unix_ms - want:+d} ms from signal wall time + {drain_ms} ms "
                        f"({want}); tolerance ±{DEADLINE_TOLERANCE_MS} ms")
    # Prices published after the signal must come after the notice: a notice
    # queued late (behind later prices) would be a notice not sent at once.
    signal_ms = notice.deadline_unix_ms - drain_ms
    late = [p.response.price.trade_id for p in report.prices_before
            if p.response.price.ingest_unix_nanos // 1_000_000 > signal_ms + NOTICE_ORDER_SLACK_MS]
    early = [p.response.price.trade_id for p in report.prices_after
             if p.response.price.ingest_unix_nanos // 1_000_000 < signal_ms - NOTICE_ORDER_SLACK_MS]
    if late or early:
        problems.append(f"notice out of place: prices published after the server's signal time "
                        f"{signal_ms} came before it {late[:5]}, or earlier ones after it {early[:5]}")
    return problems


def flow_problems(report: ReaderReport, indicator_reader: bool) -> list[str]:
    """Prices (and batches, for a subscriber) kept coming until the deadline."""
    if not report.notices:
        return []
    deadline_ms = report.notices[0].response.shutdown.deadline_unix_ms
    problems = []
    if not report.prices_after:
        problems.append("no price after the notice")
    else:
        last_ms = report.prices_after[-1].response.price.ingest_unix_nanos // 1_000_000
        if last_ms < deadline_ms - LAST_PRICE_BEFORE_DEADLINE_MS:
            problems.append(f"prices stopped {deadline_ms - last_ms} ms before the deadline "
                            f"(last published at {last_ms}, deadline {deadline_ms})")
    if indicator_reader:
        if not any(status.code == 0 for status in report.statuses):
            problems.append(f"SMA subscription not accepted: {list(report.statuses)}")
        if report.batches_after == 0:
            problems.append("no IndicatorBatch after the notice")
    return problems


def end_and_trade_problems(report: ReaderReport, published: list[harness.Trade]) -> list[str]:
    """UNAVAILABLE trailers, and exactly the trades the server published, gapless."""
    problems = []
    if report.code != grpc.StatusCode.UNAVAILABLE or report.details != UNAVAILABLE_DETAILS:
        problems.append(f"{report.end}; want UNAVAILABLE {UNAVAILABLE_DETAILS!r}")
    got = [harness.trade_from_update(p.response.price)
           for p in report.prices_before + report.prices_after]
    gaps = id_gaps(got)
    if gaps:
        problems.append(f"{len(gaps)} trade-id gaps, first {gaps[:3]}")
    if got != published:
        problems.append(f"trades differ from the {len(published)} published: "
                        f"{harness.first_difference(got, published)}")
    return problems


def drained_reader_problems(report: ReaderReport, outcome: Outcome, drain_ms: int,
                            published: list[harness.Trade], indicator_reader: bool) -> list[str]:
    """Everything a reading client is promised by a full drain."""
    return (notice_problems(report, outcome, drain_ms) + flow_problems(report, indicator_reader)
            + end_and_trade_problems(report, published))


def assert_no_problems(by_reader: dict[str, list[str]], outcome: Outcome) -> None:
    bad = {name: p for name, p in by_reader.items() if p}
    assert not bad, (f"{len(bad)} of {len(by_reader)} readers:\n"
                     + "\n".join(f"  {name}: {'; '.join(p)}" for name, p in list(bad.items())[:8])
                     + f"\nlog tail:\n{outcome.server.log.tail(15)}")


def assert_exit(outcome: Outcome, bound_s: float, since: Stamp, what: str) -> None:
    log = outcome.server.log.tail(20)
    assert outcome.exit_at is not None, (
        f"server still running {outcome.plan.drain_s + 5:.1f}s after the signal; log tail:\n{log}")
    elapsed = outcome.exit_at.mono - since.mono
    assert outcome.returncode == 0, f"exit code {outcome.returncode}; log tail:\n{log}"
    assert elapsed <= bound_s, (f"exited {elapsed:.3f}s after {what}, bound {bound_s:.3f}s; "
                                f"log tail:\n{log}")


def assert_transition_logs(outcome: Outcome, readers: int, force_closed: int) -> None:
    drain_ms = int(outcome.plan.drain_s * 1000)
    signal_line = outcome.log_line("signal received")
    assert harness.metadata_int(signal_line, "signal") == outcome.plan.first_signal.value, signal_line
    draining = outcome.log_line("draining")
    assert harness.metadata_int(draining, "streams_notified") == readers, draining
    assert harness.metadata_int(draining, "drain_ms") == drain_ms, draining
    notice = reader_report(outcome.readers[0]).notices[0].response.shutdown
    assert harness.metadata_int(draining, "deadline_unix_ms") == notice.deadline_unix_ms, (draining, notice)
    stopping = outcome.log_line("stopping")
    assert harness.metadata_int(stopping, "streams_notified") == readers, stopping
    assert harness.metadata_int(stopping, "streams_ended_by_clients") == 0, stopping
    assert harness.metadata_int(stopping, "streams_force_closed") == force_closed, stopping
    assert harness.metadata_int(stopping, "messages_flushed_during_drain") > 0, stopping
    stopped_serving = outcome.log_line("stopped serving")
    harness.metadata_int(stopped_serving, "connections_force_closed")
    assert harness.metadata_int(stopped_serving, "ms_since_signal") <= drain_ms + EXIT_SLACK_S * 1000, (
        stopped_serving)
    outcome.log_line("stopped")


# --- the tests ----------------------------------------------------------------------

def ms_after(mono: float, since: Stamp) -> float:
    return round((mono - since.mono) * 1000, 1)


def server_signal_ms(outcome: Outcome) -> int:
    """The server's own wall time for the signal (the moment health flips): the
    `draining` line's deadline_unix_ms minus its drain_ms."""
    draining = outcome.log_line("draining")
    return harness.metadata_int(draining, "deadline_unix_ms") - harness.metadata_int(draining, "drain_ms")


def assert_health_flipped(outcome: Outcome) -> None:
    """The server handles the signal (and flips health) within the bound;
    every Check sent after that is answered NOT_SERVING, and the probes see
    it promptly.

    The bound is checked on the server's clock: an answer's arrival adds the
    client's own scheduling, which on two busy cores alone passes 100 ms.
    """
    since = outcome.signal_at
    handled_ms = server_signal_ms(outcome) - since.wall_ms
    assert -SIGNAL_STAMP_SLACK_MS <= handled_ms <= HEALTH_FLIP_BOUND_S * 1000, (
        f"the server's signal time (draining deadline - drain) is {handled_ms} ms after the signal "
        f"was sent; want 0..{HEALTH_FLIP_BOUND_S * 1000:.0f} ms")
    flipped_mono = since.mono + handled_ms / 1000 + SIGNAL_STAMP_SLACK_MS / 1000

    assert outcome.raw_check_before.outcome == SERVING, f"Check before the signal: {outcome.raw_check_before}"
    checks = [(ms_after(a.sent_mono, since), ms_after(a.answered_mono, since), a.outcome)
              for a in outcome.raw_checks]
    flips = [a for a in outcome.raw_checks if a.outcome == NOT_SERVING]
    assert flips and flips[0].answered_mono - since.mono <= HEALTH_SEEN_BOUND_S, (
        f"no Check answered NOT_SERVING within {HEALTH_SEEN_BOUND_S * 1000:.0f} ms of the signal; "
        f"(sent ms, answered ms, outcome) after the signal: {checks}")
    failed = [c for c in checks if c[2] not in (SERVING, NOT_SERVING)]
    assert not failed, f"Checks on pre-opened streams that failed: {failed}"
    late = [a for a in outcome.raw_checks + outcome.grpc_checks
            if a.outcome == SERVING and a.sent_mono > min(flipped_mono, flips[0].answered_mono)]
    assert not late, (f"Checks sent after the flip ({handled_ms} ms after the signal) answered SERVING: "
                      f"{[(ms_after(a.sent_mono, since), a.outcome) for a in late]}")
    odd = [a for a in outcome.grpc_checks
           if a.outcome not in (SERVING, NOT_SERVING) and not a.outcome.startswith("UNAVAILABLE")]
    assert not odd, f"grpcio Checks failed with something other than UNAVAILABLE: {odd[:3]}"

    watch = outcome.watch
    assert watch.statuses and watch.statuses[0][1] == SERVING, f"Watch: {watch.describe()}"
    assert outcome.watch_not_serving_mono is not None, f"Watch never saw NOT_SERVING: {watch.describe()}"
    watch_ms = ms_after(outcome.watch_not_serving_mono, since)
    assert watch_ms <= HEALTH_SEEN_BOUND_S * 1000, f"Watch saw NOT_SERVING {watch_ms} ms after the signal"
    assert (watch.error is not None and watch.error.code() == grpc.StatusCode.UNAVAILABLE
            and watch.error.details() == UNAVAILABLE_DETAILS), f"Watch at the stop: {watch.describe()}"


def assert_listener_closed(outcome: Outcome) -> None:
    result, connect_s = outcome.connect
    assert result == "refused" and connect_s <= REFUSED_BOUND_S, (
        f"new connection {ms_after(outcome.connect_started_mono, outcome.signal_at)} ms after the signal: "
        f"{result} in {connect_s * 1000:.0f} ms; want refused within {REFUSED_BOUND_S * 1000:.0f} ms")


def assert_readers_drained(outcome: Outcome, expected_trades: list[harness.Trade]) -> None:
    published = expected_trades[:outcome.trades_published()]
    drain_ms = int(outcome.plan.drain_s * 1000)
    assert_no_problems({r.name: drained_reader_problems(reader_report(r), outcome, drain_ms, published,
                                                        indicator_reader=i < INDICATOR_READERS)
                        for i, r in enumerate(outcome.readers)}, outcome)


def test_sigterm_drains_twenty_readers(start_server, grpc_channels, collectors, expected_trades):
    outcome = run_shutdown(Plan(probe_health=True), start_server, grpc_channels, collectors)
    assert_health_flipped(outcome)
    assert_listener_closed(outcome)
    assert outcome.notices_by_all, "not every reader received a ShutdownNotice"
    assert_exit(outcome, DRAIN_S + EXIT_SLACK_S, outcome.signal_at, "the signal")
    assert_readers_drained(outcome, expected_trades)
    assert_transition_logs(outcome, READERS, force_closed=READERS)


def test_double_goaway_fences_streams_in_flight(start_server, grpc_channels, collectors):
    """GOAWAY(2^31-1), then a PING, then GOAWAY(last stream id) on the PING's ACK.

    The PING must follow the first GOAWAY: its ACK is the proof that the client
    has processed the GOAWAY, so every stream it opened before that is at or
    below the final last-stream-id. A PING sent before the GOAWAY proves only
    that the PING was read, and a stream the client opens between its ACK and
    reading the GOAWAY is refused by the final GOAWAY (RFC 9113, section 6.8).
    """
    outcome = run_shutdown(Plan(readers=1, probe_health=True), start_server, grpc_channels, collectors)
    signal_at = outcome.signal_at.mono
    frames = [(round((f.mono - signal_at) * 1000, 1), f.kind, f.detail) for f in outcome.prober_frames]
    kinds = [f.kind for f in outcome.prober_frames]
    goaways = [f for f in outcome.prober_frames if f.kind == "GOAWAY"]
    assert len(goaways) == 2, f"want exactly two GOAWAYs; frames (ms after signal, kind, detail): {frames}"
    assert goaways[0].detail == (GOAWAY_FIRST_LAST_STREAM_ID, 0), (
        f"first GOAWAY {goaways[0].detail}, want ({GOAWAY_FIRST_LAST_STREAM_ID}, NO_ERROR=0); {frames}")
    assert goaways[1].detail == (outcome.prober_highest_stream_id, 0), (
        f"second GOAWAY {goaways[1].detail}, want (last stream opened {outcome.prober_highest_stream_id}, "
        f"NO_ERROR=0); {frames}")
    first, second = kinds.index("GOAWAY"), len(kinds) - 1 - kinds[::-1].index("GOAWAY")
    assert "PING_ACK_SENT" in kinds[:second] and goaways[1].mono - signal_at < 0.5, (
        f"the second GOAWAY should answer our PING ACK, well before the 1 s fallback; {frames}")
    assert "PING" in kinds[first + 1:second], (
        f"the PING must come after GOAWAY({GOAWAY_FIRST_LAST_STREAM_ID}) on the wire, so that its ACK "
        f"proves the client read the GOAWAY; frames in wire order: {frames}")


def test_stalled_reader_cannot_hold_the_exit(start_server, grpc_channels, collectors, expected_trades):
    outcome = run_shutdown(Plan(stalled_reader=True), start_server, grpc_channels, collectors)
    assert outcome.stalled_unread_bytes, (
        f"the stalled reader's socket had {outcome.stalled_unread_bytes} unread bytes at the signal; "
        f"the scenario needs a client that stopped reading")
    assert_exit(outcome, DRAIN_S + EXIT_SLACK_S, outcome.signal_at, "the signal")
    # The stalled stream must really have held the stop flush, or this test
    # proved nothing about the flush bound.
    assert outcome.server.log.matching(r"stop flush budget spent"), (
        f"no `stop flush budget spent` warning: the stalled reader did not hold the flush; "
        f"log tail:\n{outcome.server.log.tail(15)}")
    assert_readers_drained(outcome, expected_trades)
    assert_transition_logs(outcome, READERS + 1, force_closed=READERS + 1)


def test_drain_ends_early_when_every_client_cancels(start_server, grpc_channels, collectors):
    # The server's default drain (5s), so that "well before the deadline" is wide.
    plan = Plan(drain_arg=None, drain_s=DEFAULT_DRAIN_S, cancel_after_notice=True)
    outcome = run_shutdown(plan, start_server, grpc_channels, collectors)
    assert outcome.notices_by_all, "not every reader received a ShutdownNotice before cancelling"
    reports = [reader_report(r) for r in outcome.readers]
    assert_no_problems({r.name: notice_problems(r, outcome, int(DEFAULT_DRAIN_S * 1000)) for r in reports},
                       outcome)
    assert_exit(outcome, DEFAULT_DRAIN_S / 2, outcome.cancelled_at, "the last cancel")
    stopping = outcome.log_line("stopping")
    assert harness.metadata_int(stopping, "streams_ended_by_clients") == READERS, stopping
    assert harness.metadata_int(stopping, "streams_force_closed") == 0, stopping


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM-then-SIGINT",
                                                                         "SIGINT-then-SIGINT"])
def test_second_signal_skips_the_rest_of_the_drain(start_server, grpc_channels, collectors,
                                                   expected_trades, first):
    plan = Plan(drain_arg=None, drain_s=DEFAULT_DRAIN_S, first_signal=first, second_signal=signal.SIGINT)
    outcome = run_shutdown(plan, start_server, grpc_channels, collectors)
    assert outcome.notices_by_all, "not every reader received a ShutdownNotice before the second signal"
    assert_exit(outcome, SECOND_SIGNAL_EXIT_BOUND_S, outcome.second_signal_at, "the second signal")
    unfinished = [r.name for r in outcome.readers if not r.finished]
    assert not unfinished, f"streams still open {READERS_FINISH_TIMEOUT_S}s after the exit: {unfinished}"
    # The stop still flushes: every trade published reaches every reader, then the trailers.
    published = expected_trades[:outcome.trades_published()]

    def problems(reader: harness.StreamCollector) -> list[str]:
        report = reader_report(reader)
        return (notice_problems(report, outcome, int(DEFAULT_DRAIN_S * 1000))
                + end_and_trade_problems(report, published))
    assert_no_problems({r.name: problems(r) for r in outcome.readers}, outcome)
    signals = outcome.server.log.matching(r"\bsignal received\"?\s*$")
    assert len(signals) == 2, signals
    stopping = outcome.log_line("stopping")
    assert harness.metadata_int(stopping, "streams_force_closed") == READERS, stopping


def test_stopping_writes_its_trailers_without_waiting_for_a_timer(start_server, grpc_channels, collectors):
    """When the last price stream leaves during the drain, the server starts
    stopping in that same loop iteration, and what stopping queues (the open
    Health/Watch's trailers, the final GOAWAY) goes out at once: with no sweep
    and no replay timer left to wake the loop, nothing else would write it
    before the stop budget ran out (the indicator batch timer, every 100 ms
    by default, is pushed out of the way too)."""
    stop_budget_s = 5.0
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1,
                          extra=["--keepalive-time", "off", "--write-idle-timeout", "0",
                                 "--stop-flush-timeout", f"{stop_budget_s:g}s", "--drain-timeout", "20s",
                                 "--indicator-interval", "60s"])  # no batch timer either
    prices = collectors(grpc_channels(server.target), name="prices", deadline_s=60).start()
    server.log.wait_for(harness.REPLAY_FINISHED_RE, 30.0)  # no replay timer from here on
    watch = HealthWatch(grpc_channels(server.target))
    assert watch.wait_status("SERVING", 10.0) is not None, "no SERVING on the Watch"

    server.proc.send_signal(signal.SIGTERM)
    assert watch.wait_status("NOT_SERVING", 10.0) is not None, "the drain did not reach the Watch"
    time.sleep(0.3)  # the loop is asleep now: nothing is due
    cancelled_at = time.monotonic()
    prices.cancel()
    deadline = cancelled_at + stop_budget_s + 5.0
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    exited_after = time.monotonic() - cancelled_at
    assert server.proc.poll() == 0, f"exit code {server.proc.poll()} after {exited_after:.2f} s"
    assert harness.wait_until(lambda: watch.finished, 5.0), "the Watch never ended"
    print(f"\n[stopping] exit {exited_after * 1000:.0f} ms after the last price stream left; "
          f"Watch ended with {watch.error.code() if watch.error else 'OK'}")
    # Measured: ~20 ms; with stopping's output left for the next wake-up,
    # 0.7 s (something of grpcio's woke the loop) or the whole stop budget.
    assert exited_after < 0.45, (
        f"the server exited {exited_after:.2f} s after the last stream left: stopping's output waited "
        f"for something else to wake the loop")
    assert not server.log.matching(r"stop flush budget spent"), "the stop flush ran out of budget"
