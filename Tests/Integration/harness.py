"""Shared helpers for Tickwire's integration tests and load scripts.

Everything here talks to the real binary over 127.0.0.1 only, and every wait is
bounded by a deadline: a test that cannot make progress fails with a message
instead of hanging.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

INTEGRATION_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEGRATION_DIR.parents[1]
GEN_DIR = INTEGRATION_DIR / "gen"
PROTO_ROOT = REPO_ROOT / "Protos"
PRICE_STREAM_PROTO = "tickwire/v1/price_stream.proto"
FIXTURES_DIR = REPO_ROOT / "Tests" / "Fixtures"
TRADES_FIXTURE = FIXTURES_DIR / "binance-2024-08-08-btcusdt-ethusdt-trades.jsonl"
RAW_FIXTURE_GZ = FIXTURES_DIR / "binance-2024-08-08-btcusdt-ethusdt-raw.jsonl.gz"
FIXTURE_TRADE_COUNT = 15_863
SYMBOLS = "btcusdt,ethusdt"

# How long the server gets to log `listening` after exec.
STARTUP_TIMEOUT_S = 20.0
# How long SIGTERM/SIGINT may take before the harness escalates to SIGKILL.
STOP_TIMEOUT_S = 10.0
# Log level used when a test does not ask for one. `debug` so that lines the
# server promises are seen whatever level it chose for them.
DEFAULT_LOG_LEVEL = os.environ.get("TICKWIRE_TEST_LOG_LEVEL", "debug")


def tickwire_binary() -> Path:
    """The binary under test: $TICKWIRE_BIN, or the debug build in the repo."""
    configured = os.environ.get("TICKWIRE_BIN")
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else (REPO_ROOT / path)
    return REPO_ROOT / ".build" / "debug" / "tickwire"


# --------------------------------------------------------------------------
# Generated stubs
# --------------------------------------------------------------------------

def ensure_stubs() -> Path:
    """Generates the tickwire.v1 Python stubs into gen/ (idempotent).

    A stamp file holds the SHA-256 of the .proto; regeneration happens only
    when it changed, into a temporary directory renamed into place, so that a
    concurrent reader never sees half-written modules.
    """
    proto_path = PROTO_ROOT / PRICE_STREAM_PROTO
    digest = hashlib.sha256(proto_path.read_bytes()).hexdigest()
    stamp = GEN_DIR / ".proto-sha256"
    if not (stamp.exists() and stamp.read_text().strip() == digest
            and (GEN_DIR / "tickwire" / "v1" / "price_stream_pb2_grpc.py").exists()):
        _generate_stubs(digest)
    if str(GEN_DIR) not in sys.path:
        sys.path.insert(0, str(GEN_DIR))
    return GEN_DIR


def _generate_stubs(digest: str) -> None:
    import shutil
    import tempfile

    from grpc_tools import protoc  # imported here: only needed when generating

    GEN_DIR.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gen-", dir=GEN_DIR.parent))
    try:
        rc = protoc.main([
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={staging}",
            f"--grpc_python_out={staging}",
            str(PROTO_ROOT / PRICE_STREAM_PROTO),
        ])
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed with exit code {rc}")
        (staging / ".proto-sha256").write_text(digest + "\n")
        staging.chmod(0o755)  # mkdtemp makes it 0700
        old = None
        if GEN_DIR.exists():
            old = GEN_DIR.with_name(f".gen-old-{os.getpid()}")
            GEN_DIR.rename(old)
        staging.rename(GEN_DIR)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def stubs():
    """(price_stream_pb2, price_stream_pb2_grpc) after ensure_stubs()."""
    ensure_stubs()
    from tickwire.v1 import price_stream_pb2, price_stream_pb2_grpc
    return price_stream_pb2, price_stream_pb2_grpc


# --------------------------------------------------------------------------
# Fixture data
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Trade:
    """A trade as the contract says the server must publish it."""
    symbol: str
    price: float
    quantity: float
    trade_id: int
    trade_time_ms: int
    event_time_ms: int


def trade_from_frame(line: str) -> Trade | None:
    """The Trade a Binance combined-stream frame carries, or None for other frames."""
    frame = json.loads(line)
    data = frame["data"]
    kind = data.get("e")
    if kind == "trade":
        trade_id = data["t"]
    elif kind == "aggTrade":
        trade_id = data["a"]
    else:
        return None
    return Trade(symbol=data["s"], price=float(data["p"]), quantity=float(data["q"]),
                 trade_id=trade_id, trade_time_ms=data["T"], event_time_ms=data["E"])


def trades_in(lines: Iterable[str]) -> list[Trade]:
    out = []
    for line in lines:
        if line.strip():
            trade = trade_from_frame(line)
            if trade is not None:
                out.append(trade)
    return out


def fixture_trades() -> list[Trade]:
    with TRADES_FIXTURE.open() as f:
        return trades_in(f)


def trade_from_update(update) -> Trade:
    """The comparable part of a PriceUpdate (ingest_unix_nanos is checked apart)."""
    return Trade(symbol=update.symbol, price=update.price, quantity=update.quantity,
                 trade_id=update.trade_id, trade_time_ms=update.trade_time_ms,
                 event_time_ms=update.event_time_ms)


def first_difference(got: Sequence[Trade], want: Sequence[Trade]) -> str:
    """A one-paragraph description of where two trade sequences first differ."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"first difference at index {i}: got {g}, want {w}"
    if len(got) != len(want):
        extra = got[len(want):len(want) + 3] if len(got) > len(want) else want[len(got):len(got) + 3]
        return f"lengths differ: got {len(got)}, want {len(want)}; next items of the longer: {extra}"
    return "sequences are equal"


# --------------------------------------------------------------------------
# Server process and its log
# --------------------------------------------------------------------------

LISTENING_RE = re.compile(r"\baddress=(?P<host>\[?[0-9a-fA-F.:]+?\]?):(?P<port>\d+)\b.*(?<!metrics )\blistening\"?\s*$")
METRICS_LISTENING_RE = re.compile(r"\baddress=(?P<host>\[?[0-9a-fA-F.:]+?\]?):(?P<port>\d+)\b.*\bmetrics listening\"?\s*$")
CONNECTION_CLOSED_RE = re.compile(r"\bconnection closed\"?\s*$")
REPLAY_FINISHED_RE = re.compile(r"\breplay finished\"?\s*$")


def metadata_int(line: str, key: str) -> int:
    """The integer value of `key=N` in a log line (AssertionError when absent)."""
    match = re.search(rf"(?:^|[\s\[(,]){re.escape(key)}=(-?\d+)\b", line)
    assert match, f"log line has no {key}=<int>: {line!r}"
    return int(match.group(1))


class LogWatcher:
    """Collects a process's stderr lines on a thread and lets tests wait for them."""

    def __init__(self, stream, copy_path: Path | None) -> None:
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self._copy = copy_path.open("w", buffering=1) if copy_path else None
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True,
                                        name="tickwire-stderr")
        self._thread.start()

    def _pump(self, stream) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if self._copy:
                    self._copy.write(line + "\n")
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            if self._copy:
                self._copy.close()

    def snapshot(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    def count(self) -> int:
        with self._cond:
            return len(self._lines)

    def wait_for(self, pattern: re.Pattern | str, timeout_s: float, since: int = 0) -> tuple[int, str]:
        """(index, line) of the first line at or after `since` matching `pattern`."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout_s
        scanned = since
        with self._cond:
            while True:
                while scanned < len(self._lines):
                    if regex.search(self._lines[scanned]):
                        return scanned, self._lines[scanned]
                    scanned += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    break
                self._cond.wait(min(remaining, 0.5))
        tail = "\n".join(self._lines[-25:])
        state = "stderr closed (process exited?)" if self._closed else f"{timeout_s:.1f}s passed"
        raise AssertionError(f"no log line matching {regex.pattern!r} since line {since}: "
                             f"{state}. Last lines:\n{tail}")

    def matching(self, pattern: re.Pattern | str, since: int = 0) -> list[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        with self._cond:
            return [line for line in self._lines[since:] if regex.search(line)]

    def tail(self, n: int = 25) -> str:
        with self._cond:
            return "\n".join(self._lines[-n:])

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent environment without any TICKWIRE_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWIRE_")}
    env.update(extra or {})
    return env


class TickwireServer:
    """One running tickwire process, its parsed port and its stderr."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path | None,
                 wrapper: list[str] | None = None) -> None:
        self.argv = argv
        self.command = (wrapper or []) + argv
        self.started_wall_ns = time.time_ns()
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True)
        self.log = LogWatcher(self.proc.stderr, log_path)
        self.port: int | None = None
        self.metrics_port: int | None = None
        self.returncode: int | None = None

    @property
    def target(self) -> str:
        assert self.port is not None, "server has no port yet"
        return f"127.0.0.1:{self.port}"

    def wait_listening(self, timeout_s: float = STARTUP_TIMEOUT_S) -> int:
        try:
            _, line = self.log.wait_for(LISTENING_RE, timeout_s)
        except AssertionError as error:
            rc = self.proc.poll()
            raise AssertionError(f"server did not log `listening address=HOST:PORT` "
                                 f"(exit code {rc}); command: {self.command}\n{error}") from None
        self.port = int(LISTENING_RE.search(line).group("port"))
        assert 0 < self.port < 65536, line
        return self.port

    def wait_metrics_listening(self, timeout_s: float = STARTUP_TIMEOUT_S) -> int:
        """The /metrics port from the `metrics listening address=HOST:PORT` line."""
        _, line = self.log.wait_for(METRICS_LISTENING_RE, timeout_s)
        self.metrics_port = int(METRICS_LISTENING_RE.search(line).group("port"))
        assert 0 < self.metrics_port < 65536, line
        return self.metrics_port

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, signum: int, pid: int | None = None) -> None:
        os.kill(pid or self.proc.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S,
             pid: int | None = None) -> int:
        """Sends `signum` and waits; escalates to SIGKILL after `timeout_s`.

        Returns the exit code (negative for a signal death, as subprocess does).
        """
        if self.proc.poll() is None:
            try:
                self.send_signal(signum, pid)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.returncode = self.proc.returncode
                self.log.join(2)
                raise AssertionError(f"server did not exit within {timeout_s}s of signal "
                                     f"{signum}; killed. Last log lines:\n{self.log.tail()}")
        self.returncode = self.proc.returncode
        self.log.join(2)
        return self.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.log.join(2)

    def rss_kib(self, pid: int | None = None) -> int | None:
        return read_status_kib(pid or self.proc.pid, "VmRSS")


def read_status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


# Every test server's /metrics goes on a free loopback port: the default
# 0.0.0.0:20051 would collide between servers running at once.
DEFAULT_METRICS_LISTEN = "127.0.0.1:0"


def server_argv(replay: Path | str | None, speed: str = "max", wait_streams: int = 0,
                log_level: str | None = None, listen: str = "127.0.0.1:0",
                symbols: str = SYMBOLS, extra: Sequence[str] = (),
                metrics_listen: str | None = DEFAULT_METRICS_LISTEN) -> list[str]:
    """argv for tickwire; `metrics_listen=None` leaves --metrics-listen out (the server's default)."""
    argv = [str(tickwire_binary()), "--listen", listen, "--symbols", symbols]
    if metrics_listen is not None:
        argv += ["--metrics-listen", metrics_listen]
    if replay is not None:
        argv += ["--replay", str(replay), "--replay-speed", str(speed),
                 "--replay-wait-streams", str(wait_streams)]
    argv += ["--log-level", log_level or DEFAULT_LOG_LEVEL]
    argv += list(extra)
    return argv


# --------------------------------------------------------------------------
# gRPC clients
# --------------------------------------------------------------------------

STREAM_PRICES_METHOD = "/tickwire.v1.PriceStream/StreamPrices"

# Every channel gets its own subchannel pool, so one channel is one TCP
# connection (grpcio otherwise shares connections between equal channels).
CHANNEL_OPTIONS = [
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.enable_http_proxy", 0),
    ("grpc.enable_retries", 0),
]


def channel(target: str, extra_options: Sequence[tuple] = ()):
    import grpc
    return grpc.insecure_channel(target, options=CHANNEL_OPTIONS + list(extra_options))


def wait_channel_ready(chan, timeout_s: float = 10.0) -> None:
    import grpc
    grpc.channel_ready_future(chan).result(timeout=timeout_s)


def held_open_requests(release: threading.Event, max_s: float, first: Sequence = ()) -> Iterator:
    """A request iterator that yields `first`, then keeps the stream's send side
    open (no half-close) until `release` is set or `max_s` passes."""
    yield from first
    release.wait(max_s)


@dataclasses.dataclass
class Received:
    recv_mono: float
    recv_wall_ns: int
    response: object


class StreamCollector:
    """Opens one StreamPrices stream on a thread and records every response."""

    def __init__(self, chan, name: str = "stream", requests: Iterator | None = None,
                 deadline_s: float = 120.0, raw_requests: bool = False) -> None:
        """`raw_requests`: the request iterator yields already serialized bytes."""
        pb, pb_grpc = stubs()
        self.name = name
        self.release = threading.Event()
        self._requests = requests if requests is not None else held_open_requests(self.release, deadline_s)
        if raw_requests:
            self._method = chan.stream_stream(STREAM_PRICES_METHOD, request_serializer=None,
                                              response_deserializer=pb.StreamResponse.FromString)
        else:
            self._method = pb_grpc.PriceStreamStub(chan).StreamPrices
        self._deadline_s = deadline_s
        self._cond = threading.Condition()
        self.items: list[Received] = []
        self.error = None           # grpc.RpcError that ended the stream, if any
        self.ended_cleanly = False  # the server ended the stream with OK
        self.finished = False
        self.call = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"collector-{name}")

    def start(self) -> "StreamCollector":
        self._thread.start()
        return self

    def _run(self) -> None:
        import grpc
        try:
            self.call = self._method(self._requests, timeout=self._deadline_s)
            for response in self.call:
                item = Received(time.monotonic(), time.time_ns(), response)
                with self._cond:
                    self.items.append(item)
                    self._cond.notify_all()
            self.ended_cleanly = True
        except grpc.RpcError as error:
            self.error = error
        finally:
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def count(self) -> int:
        with self._cond:
            return len(self.items)

    def prices(self) -> list[Received]:
        with self._cond:
            return [item for item in self.items if item.response.WhichOneof("payload") == "price"]

    def non_prices(self) -> list:
        with self._cond:
            return [item.response for item in self.items if item.response.WhichOneof("payload") != "price"]

    def wait_count(self, n: int, timeout_s: float) -> bool:
        """True once `n` responses arrived; False on timeout or stream end."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.items) < n and not self.finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
            return len(self.items) >= n

    def describe_end(self) -> str:
        if self.error is not None:
            return f"stream ended with {self.error.code()}: {self.error.details()!r}"
        if self.ended_cleanly:
            return "stream ended with OK (server closed it)"
        return "stream still open"

    def cancel(self, join_s: float = 5.0) -> None:
        self.release.set()
        call = self.call
        if call is not None:
            call.cancel()
        self._thread.join(join_s)


def wait_until(predicate, timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


# --------------------------------------------------------------------------
# Live feed (no --replay): argv and log lines
# --------------------------------------------------------------------------

FEED_CONNECTING_RE = re.compile(r"\bfeed connecting\"?\s*$")
FEED_CONNECTED_RE = re.compile(r"\bfeed connected\"?\s*$")
FEED_CONNECTION_FAILED_RE = re.compile(r"\bfeed connection failed\"?\s*$")
FEED_CONNECTION_LOST_RE = re.compile(r"\bfeed connection lost\"?\s*$")
FEED_STALE_RE = re.compile(r"\bfeed stale\"?\s*$")
FEED_GAP_RE = re.compile(r"\bfeed gap\"?\s*$")
FEED_ROTATION_STARTED_RE = re.compile(r"\bfeed rotation started\"?\s*$")
FEED_ROTATION_COMPLETE_RE = re.compile(r"\bfeed rotation complete\"?\s*$")
FEED_FRAME_SKIPPED_RE = re.compile(r"\bfeed frame skipped\"?\s*$")
STOPPED_RE = re.compile(r"\bmsg=stopped\"?\s*$")


def live_feed_argv(binance_url: str, ca_file: Path | str | None = None,
                   stale_timeout: str | None = None, max_connection_age: str | None = None,
                   reconnect_base: str | None = None, reconnect_cap: str | None = None,
                   stream: str | None = None, log_level: str | None = None,
                   listen: str = "127.0.0.1:0", symbols: str = SYMBOLS,
                   extra: Sequence[str] = (),
                   metrics_listen: str | None = DEFAULT_METRICS_LISTEN,
                   api_url: str = "off") -> list[str]:
    """argv for tickwire on its live Binance feed (no --replay), pointed at `binance_url`.
    Backfill is off unless `api_url` names a WebSocket API (FakeBinance.api_url()):
    the tests written before it count gaps as lost trades."""
    feed = ["--binance-url", binance_url, "--binance-api-url", api_url]
    if ca_file is not None:
        feed += ["--binance-ca-file", str(ca_file)]
    for flag, value in (("--stale-timeout", stale_timeout),
                        ("--binance-max-connection-age", max_connection_age),
                        ("--reconnect-base", reconnect_base), ("--reconnect-cap", reconnect_cap),
                        ("--stream", stream)):
        if value is not None:
            feed += [flag, value]
    return server_argv(None, log_level=log_level, listen=listen, symbols=symbols,
                       extra=feed + list(extra), metrics_listen=metrics_listen)


def metadata_str(line: str, key: str) -> str:
    """The value of `key=…` in a logfmt log line, unquoted (a quoted value's
    escapes are JSON's). AssertionError when absent."""
    match = re.search(rf'(?:^|\s){re.escape(key)}=("(?:[^"\\]|\\.)*"|\S*)', line)
    assert match, f"log line has no {key}=…: {line!r}"
    value = match.group(1)
    return json.loads(value) if value.startswith('"') else value


# A symbol no test serves: an indicator request for it draws NOT_FOUND.
BARRIER_SYMBOL = "dogeusdt"
BARRIER_REQUEST_ID = "barrier"


def open_registered_stream(chan, make_collector=StreamCollector, name: str = "stream",
                           deadline_s: float = 120.0, timeout_s: float = 10.0) -> StreamCollector:
    """A started StreamPrices collector that the server has registered, so every
    trade published from now on reaches it (for a live feed, which has no
    --replay-wait-streams). Its first request asks for an indicator on a symbol
    the server does not serve; the SubscriptionStatus that answers it can only
    come from a registered stream. The stream's send side then stays open.

    `make_collector(chan, name=…, requests=…, deadline_s=…)`: StreamCollector or
    the conftest `collectors` factory (which cancels at teardown)."""
    pb, _ = stubs()
    barrier = pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol=BARRIER_SYMBOL,
                                  type=pb.INDICATOR_TYPE_SMA, period=14, request_id=BARRIER_REQUEST_ID)
    holder: dict[str, StreamCollector] = {}

    def requests():
        yield barrier
        holder["collector"].release.wait(deadline_s)

    collector = make_collector(chan, name=name, requests=requests(), deadline_s=deadline_s)
    holder["collector"] = collector
    collector.start()

    def barrier_status():
        for response in collector.non_prices():
            if response.WhichOneof("payload") == "status" and response.status.request_id == BARRIER_REQUEST_ID:
                return response.status
        return None
    assert wait_until(lambda: barrier_status() is not None, timeout_s), (
        f"{name}: no SubscriptionStatus for the barrier request within {timeout_s}s; "
        f"{collector.describe_end()}")
    return collector
