"""A minimal raw HTTP/2 (prior knowledge, cleartext) client built on the `h2` package.

It lets tests send what grpcio never would: a GET, a wrong content-type, or a
stream whose reader never drains. Every read is bounded by a deadline.
"""

from __future__ import annotations

import dataclasses
import socket
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

GRPC_PATH = "/tickwire.v1.PriceStream/StreamPrices"
# An empty IndicatorRequest in gRPC's length-prefixed framing.
EMPTY_GRPC_MESSAGE = b"\x00\x00\x00\x00\x00"


@dataclasses.dataclass
class H2Result:
    headers: dict[str, str] | None = None
    trailers: dict[str, str] | None = None
    data: bytes = b""
    ended: bool = False
    reset_code: int | None = None
    goaway_code: int | None = None
    connection_closed: bool = False
    timed_out: bool = False

    @property
    def http_status(self) -> str | None:
        return None if self.headers is None else self.headers.get(":status")

    @property
    def grpc_status(self) -> str | None:
        """grpc-status from the trailers, or from a trailers-only response."""
        for block in (self.trailers, self.headers):
            if block and "grpc-status" in block:
                return block["grpc-status"]
        return None

    def describe(self) -> str:
        return (f"headers={self.headers} trailers={self.trailers} data={self.data[:64]!r} "
                f"ended={self.ended} reset={self.reset_code} goaway={self.goaway_code} "
                f"closed={self.connection_closed} timed_out={self.timed_out}")


def request_headers(port: int, method: str = "POST", path: str = GRPC_PATH,
                    content_type: str | None = "application/grpc") -> list[tuple[str, str]]:
    headers = [(":method", method), (":scheme", "http"), (":path", path),
               (":authority", f"127.0.0.1:{port}")]
    if content_type is not None:
        headers.append(("content-type", content_type))
    headers.append(("te", "trailers"))
    return headers


class RawH2Connection:
    """One client connection. Not thread-safe; each test drives it directly."""

    def __init__(self, port: int, timeout_s: float = 5.0, recv_buffer_bytes: int | None = None,
                 huge_windows: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if recv_buffer_bytes is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer_bytes)
        self.sock.settimeout(timeout_s)
        self.sock.connect(("127.0.0.1", port))
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if huge_windows:
            # Let the server send as much as it likes: flow control never stops
            # it, so only the socket buffers (and the server's own limits) do.
            max_window = 2**31 - 1
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: max_window})
            self.conn.increment_flow_control_window(max_window - 65_535)
        self.flush()
        self.results: dict[int, H2Result] = {}

    def flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def open_stream(self, headers: list[tuple[str, str]], body: bytes | None = None,
                    end_stream: bool = True) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.results[stream_id] = H2Result()
        if body is None:
            self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        else:
            self.conn.send_headers(stream_id, headers, end_stream=False)
            self.conn.send_data(stream_id, body, end_stream=end_stream)
        self.flush()
        return stream_id

    def pump_until_done(self, stream_id: int, timeout_s: float) -> H2Result:
        """Reads and handles frames until `stream_id` ends, resets, or time runs out."""
        result = self.results[stream_id]
        deadline = time.monotonic() + timeout_s
        while not (result.ended or result.reset_code is not None or result.goaway_code is not None
                   or result.connection_closed):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out = True
                break
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65_536)
            except socket.timeout:
                result.timed_out = True
                break
            except ConnectionError:
                chunk = b""
            if not chunk:
                for r in self.results.values():
                    r.connection_closed = True
                break
            self._handle(self.conn.receive_data(chunk))
            self.flush()
        return result

    def _handle(self, events) -> None:
        for event in events:
            stream_result = self.results.get(getattr(event, "stream_id", None) or 0)
            if isinstance(event, h2.events.ResponseReceived) and stream_result:
                stream_result.headers = dict(event.headers)
            elif isinstance(event, h2.events.TrailersReceived) and stream_result:
                stream_result.trailers = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                if stream_result:
                    stream_result.data += event.data
                try:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                except h2.exceptions.StreamClosedError:
                    pass  # the stream ended meanwhile; nothing to credit
            elif isinstance(event, h2.events.StreamEnded) and stream_result:
                stream_result.ended = True
            elif isinstance(event, h2.events.StreamReset) and stream_result:
                stream_result.reset_code = int(event.error_code)
            elif isinstance(event, h2.events.ConnectionTerminated):
                for r in self.results.values():
                    r.goaway_code = int(event.error_code)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def exchange(port: int, headers: list[tuple[str, str]], body: bytes | None = None,
             timeout_s: float = 5.0) -> H2Result:
    """Sends one request on a fresh connection and returns how the server answered."""
    connection = RawH2Connection(port, timeout_s)
    try:
        stream_id = connection.open_stream(headers, body)
        return connection.pump_until_done(stream_id, timeout_s)
    finally:
        connection.close()
