"""What --max-queued-bytes and --max-streams count besides queued messages
(issue 20, item 2: "RSS stays under the deployment's memory limit whatever the
clients do"):

- connection output buffers: clients that grant huge windows and never read
  their sockets leave framed output on the server; past the budget the
  connections holding the most are closed;
- request messages still arriving: streams that announce 4 MiB messages and
  send only part of them hold their buffers; past the budget those calls end
  with RESOURCE_EXHAUSTED;
- the fixed state of calls: past --max-streams a new call gets UNAVAILABLE at
  once, naming the flag.

Every wait is bounded in time and every loop in count.
"""

from __future__ import annotations

import socket
import time

import h2.exceptions

import h2_client
import harness
from harness import metadata_int
from test_metrics import scrape

BUDGET_BYTES = 8 * 1024 * 1024
BUDGET_EXCEEDED_RE = r"queued-bytes budget exceeded; ended the largest backlogs\"?\s*$"
CALL_HEADERS_TIMEOUT_S = 10.0


def _budget_server(start_server, speed="20", budget_bytes=BUDGET_BYTES, extra=()):
    server = start_server(replay=harness.TRADES_FIXTURE, speed=speed,
                          extra=["--log-level", "info", "--replay-loop", "--max-queued-bytes", str(budget_bytes),
                                 *extra])
    server.wait_metrics_listening()
    return server


def _grpc_message(result: h2_client.H2Result) -> str:
    """grpc-message from the trailers, or from a trailers-only response."""
    for block in (result.trailers, result.headers):
        if block and "grpc-message" in block:
            return block["grpc-message"]
    return ""


def test_connections_that_read_none_of_their_output_are_closed_past_the_budget(start_server):
    # 12 connections x 8 streams whose queues conflate at 64 KiB: 6 MiB
    # queued, under the 6.5 MiB budget. A moment of reading then lets each
    # connection frame up to 256 KiB of its queue into its output buffer,
    # which the client never reads, while new trades fill the queues again:
    # only counting that output spends the budget. The small SO_SNDBUF keeps
    # the kernel from absorbing it first. Output memory counts only while it
    # holds bytes (OutputBufferPool), so what frees first (idle buffers, down
    # to 7/8 of the budget) must not be enough on its own.
    budget = 6 * 1024 * 1024 + 512 * 1024
    server = _budget_server(start_server, budget_bytes=budget,
                            extra=["--stream-soft-limit", "65536", "--socket-send-buffer", "16384"])
    readers: list[h2_client.RawH2Connection] = []
    try:
        headers = h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD)
        for _ in range(12):
            connection = h2_client.RawH2Connection(server.port, recv_buffer_bytes=4096, huge_windows=True)
            for _ in range(8):
                connection.open_stream(headers, end_stream=False)
            readers.append(connection)
        time.sleep(3.0)  # the queues fill and conflate
        # A short spell of reading, then never again: each socket drains far
        # enough to wake the server's writer, which frames up to 256 KiB of
        # the queues into the connection's output, and then stops for good.
        for connection in readers:
            connection.sock.settimeout(0.05)
            spell_ends = time.monotonic() + 0.3
            while time.monotonic() < spell_ends:  # bounded by the spell
                try:
                    if not connection.sock.recv(65_536):
                        break
                except (TimeoutError, socket.timeout):
                    continue
        closed = 0
        deadline = time.monotonic() + 15.0
        since = 0
        while closed == 0 and time.monotonic() < deadline:  # bounded by the deadline
            try:
                index, line = server.log.wait_for(BUDGET_EXCEEDED_RE, max(0.1, deadline - time.monotonic()), since)
            except AssertionError:
                break
            since = index + 1
            closed += metadata_int(line, "connections_closed")
        assert closed > 0, f"no connection closed for its unread output:\n{server.log.tail()}"
        metrics = scrape(server)
        allocated = metrics.value("tickwire_connection_output_allocated_bytes")
        print(f"\n[output buffers] {closed} connections closed by the budget; output allocated now {allocated:.0f} B, "
              f"closed total {metrics.value('tickwire_queued_budget_connections_closed_total'):.0f}")
        assert metrics.value("tickwire_queued_budget_connections_closed_total") >= closed
        assert metrics.value("tickwire_queued_budget_bytes") == budget
        assert allocated <= budget, allocated
        assert server.log.matching(r"reads none of its \d+ bytes of output"), server.log.tail()
        assert server.alive()
    finally:
        for connection in readers:
            connection.close()


def _send_partial_message(connection: h2_client.RawH2Connection, stream_id: int, body_bytes: int) -> None:
    """Announces a 4 MiB message and sends `body_bytes` of it, reading the
    server's WINDOW_UPDATEs when the connection window runs short."""
    payload = b"\x00" + (4 * 1024 * 1024).to_bytes(4, "big") + b"x" * body_bytes
    for _ in range(50):  # bounded: each round waits at most 0.2 s for credit
        if connection.conn.local_flow_control_window(stream_id) >= len(payload):
            connection.conn.send_data(stream_id, payload)
            connection.flush()
            return
        connection.sock.settimeout(0.2)
        try:
            chunk = connection.sock.recv(65_536)
        except (TimeoutError, socket.timeout):
            continue
        if not chunk:
            return
        connection._handle(connection.conn.receive_data(chunk))
        connection.flush()


def test_partial_request_messages_count_and_are_ended_past_the_budget(start_server):
    server = _budget_server(start_server)
    connections: list[h2_client.RawH2Connection] = []
    try:
        # Health Check: a unary call that sends nothing until its request is
        # complete, so only the partial request holds memory.
        headers = h2_client.request_headers(server.port, path="/grpc.health.v1.Health/Check")
        for _ in range(10):
            connection = h2_client.RawH2Connection(server.port)
            for _ in range(100):
                stream_id = connection.open_stream(headers, end_stream=False)
                try:
                    _send_partial_message(connection, stream_id, 16_000)
                except h2.exceptions.StreamClosedError:
                    pass  # already ended by the budget
            connections.append(connection)
        _, line = server.log.wait_for(BUDGET_EXCEEDED_RE, 20.0)
        # Read what the server answered on the first connection.
        probe = connections[0]
        first = next(iter(probe.results))
        probe.pump_until_done(first, 5.0)
        ended = [r for r in probe.results.values() if r.grpc_status == "8"]
        messages = {_grpc_message(r) for r in ended}
        metrics = scrape(server)
        held = metrics.value("tickwire_request_partial_held_bytes")
        print(f"\n[partial requests] budget line: streams_ended={metadata_int(line, 'streams_ended')}; "
              f"probe connection: {len(ended)} calls ended with 8; partial bytes held now {held:.0f}")
        assert ended, f"no partial request was ended: {probe.results[first].describe()}"
        assert any("arriving too slowly" in m for m in messages), messages
        assert held <= BUDGET_BYTES, held
        assert metrics.value("tickwire_queued_budget_streams_ended_total") >= len(ended)
        assert server.alive()
    finally:
        for connection in connections:
            connection.close()


def test_calls_past_max_streams_get_unavailable_at_once(start_server):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="1", extra=["--max-streams", "20"])
    server.wait_metrics_listening()
    _, line = server.log.wait_for(r"\bstream limit\"?\s*$", 5.0)
    assert metadata_int(line, "max_streams") == 20, line
    connection = h2_client.RawH2Connection(server.port)
    try:
        headers = h2_client.request_headers(server.port, path=harness.STREAM_PRICES_METHOD)
        ids = [connection.open_stream(headers, end_stream=False) for _ in range(30)]
        refused = connection.pump_until_done(ids[-1], CALL_HEADERS_TIMEOUT_S)
        assert refused.grpc_status == "14", refused.describe()
        assert "--max-streams" in _grpc_message(refused), refused.describe()
        unavailable = [i for i in ids if connection.results[i].grpc_status == "14"]
        served = [i for i in ids if connection.results[i].headers and connection.results[i].grpc_status is None]
        print(f"\n[max streams] 30 calls on one connection: {len(served)} served, {len(unavailable)} refused")
        assert len(unavailable) == 10 and len(served) == 20, (len(unavailable), len(served))
        assert scrape(server).value("tickwire_grpc_calls_refused_at_max_streams_total") == 10
    finally:
        connection.close()
