"""Connection churn: 10,000 connections opened and closed leave nothing behind.

The server must give back every descriptor and the memory of every
connection it no longer holds: a reconnect storm after a pod roll, or a
scanner opening connections in a loop, must not ratchet the RSS or leak fds.

The churn runs in rounds. Each round opens ROUND_SIZE connections at once,
each a valid HTTP/2 client (preface + SETTINGS) that waits for the server's
SETTINGS, so the server has accepted and set up a session for every one; a
tenth of them also start a health check. Then all are closed, half with FIN
and half with RST (SO_LINGER 0). A healthy grpcio stream runs throughout and
must receive every trade in order.

Figures for the note are printed (pytest -s): the server's fd count and RSS at
the baseline, at each round's peak, and after the churn.

Every loop is bounded in count and every wait by a deadline.
"""

from __future__ import annotations

import resource
import selectors
import socket
import struct
import time

import pytest

import harness

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_FRAME_TYPE = 0x4
TOTAL_CONNECTIONS = 10_000
ROUND_SIZE = 1_000
# A warm-up round fills the allocator's free lists and the slot table's pages
# before the baseline is taken, so the baseline is the steady state.
WARMUP_SIZE = ROUND_SIZE
ROUND_BUDGET_S = 30.0
SETTLE_BUDGET_S = 10.0
# Memory the allocator may keep after the churn. A leak of even 200 bytes per
# connection would exceed it.
RSS_SLACK_KIB = 2_048
RSS_SETTLE_BUDGET_S = 5.0


def raise_own_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed <= hard or (soft < needed and hard == resource.RLIM_INFINITY):
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        pytest.skip(f"this test needs {needed} open files; the hard limit is {hard}")


def fd_count(pid: int) -> int:
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))


def health_check_headers_frame(stream_id: int, port: int) -> bytes:
    import hpack
    block = hpack.Encoder().encode(
        [(":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"),
         (":authority", f"127.0.0.1:{port}"), ("content-type", "application/grpc"), ("te", "trailers")])
    header = struct.pack(">I", len(block))[1:] + bytes([0x1, 0x4]) + struct.pack(">I", stream_id)
    # An empty HealthCheckRequest, END_STREAM.
    data = b"\x00\x00\x00\x00\x00"
    data_frame = struct.pack(">I", len(data))[1:] + bytes([0x0, 0x1]) + struct.pack(">I", stream_id) + data
    return header + block + data_frame


def open_round(port: int, count: int, deadline: float) -> list[socket.socket]:
    """Opens `count` HTTP/2 connections and returns once each got the server's SETTINGS."""
    request = health_check_headers_frame(1, port)
    sockets: list[socket.socket] = []
    for index in range(count):  # bounded by count
        sock = socket.create_connection(("127.0.0.1", port), timeout=max(0.1, deadline - time.monotonic()))
        sockets.append(sock)
        sock.sendall(PREFACE + EMPTY_SETTINGS + (request if index % 10 == 0 else b""))
        sock.setblocking(False)
    waiting = {sock.fileno(): sock for sock in sockets}
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    try:
        while waiting:  # each pass removes ready sockets; bounded by the deadline
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(waiting)} of {count} connections got no SETTINGS from the server in time"
            for key, _ in selector.select(remaining):
                sock = key.fileobj
                try:
                    head = sock.recv(9)
                except BlockingIOError:
                    continue
                assert len(head) == 9 and head[3] == SETTINGS_FRAME_TYPE, (
                    f"expected the server's SETTINGS first, got {head!r}")
                selector.unregister(sock)
                waiting.pop(sock.fileno(), None)
    finally:
        selector.close()
    return sockets


def close_round(sockets: list[socket.socket]) -> None:
    for index, sock in enumerate(sockets):  # bounded by the round size
        if index % 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def wait_fds(pid: int, at_most: int, budget_s: float) -> int:
    harness.wait_until(lambda: fd_count(pid) <= at_most, budget_s)
    return fd_count(pid)


def test_ten_thousand_connections_leave_fds_and_rss_at_baseline(start_server, grpc_channels, collectors,
                                                               expected_trades):
    raise_own_fd_limit(ROUND_SIZE + 512)
    # A slow replay so the healthy stream is still receiving when the churn ends.
    server = start_server(replay=harness.TRADES_FIXTURE, speed="5", wait_streams=1, log_level="info")
    pid = server.proc.pid
    collector = collectors(grpc_channels(server.target), name="healthy", deadline_s=240).start()
    assert collector.wait_count(20, 15.0), f"healthy stream got no prices: {collector.describe_end()}"

    close_round(open_round(server.port, WARMUP_SIZE, time.monotonic() + ROUND_BUDGET_S))
    settled_fds = wait_fds(pid, fd_count(pid), SETTLE_BUDGET_S)
    time.sleep(0.5)
    baseline_fds = fd_count(pid)
    baseline_rss = server.rss_kib()
    print(f"\n[churn] baseline after a warm-up round of {WARMUP_SIZE}: fds {baseline_fds}, RSS {baseline_rss} KiB")
    assert settled_fds >= baseline_fds

    started = time.monotonic()
    peaks = []
    for round_index in range(TOTAL_CONNECTIONS // ROUND_SIZE):  # bounded: 10 rounds
        sockets = open_round(server.port, ROUND_SIZE, time.monotonic() + ROUND_BUDGET_S)
        peak_fds, peak_rss = fd_count(pid), server.rss_kib()
        peaks.append((peak_fds, peak_rss))
        # Every connection is held by the server at once, not queued in the backlog.
        assert peak_fds >= baseline_fds + ROUND_SIZE, f"round {round_index}: server holds only {peak_fds} fds"
        close_round(sockets)
        after = wait_fds(pid, baseline_fds, SETTLE_BUDGET_S)
        assert after == baseline_fds, f"round {round_index}: {after} fds after closing, baseline {baseline_fds}"
        print(f"[churn] round {round_index}: peak fds {peak_fds}, RSS {peak_rss} KiB; after close RSS {server.rss_kib()} KiB")
    elapsed = time.monotonic() - started

    # The server hands freed pages back from a periodic tick, at most once a
    # second, so RSS is given a few seconds to come back.
    harness.wait_until(lambda: (server.rss_kib() or 0) <= baseline_rss + RSS_SLACK_KIB, RSS_SETTLE_BUDGET_S)
    final_fds, final_rss = fd_count(pid), server.rss_kib()
    print(f"[churn] {TOTAL_CONNECTIONS} connections in {elapsed:.1f} s; per-round peak fds "
          f"{min(p[0] for p in peaks)}-{max(p[0] for p in peaks)}, peak RSS {max(p[1] for p in peaks)} KiB; "
          f"after: fds {final_fds}, RSS {final_rss} KiB (baseline {baseline_fds} fds, {baseline_rss} KiB)")
    assert final_fds == baseline_fds
    assert final_rss <= baseline_rss + RSS_SLACK_KIB, (
        f"RSS grew from {baseline_rss} to {final_rss} KiB over {TOTAL_CONNECTIONS} connections")

    assert server.alive(), server.log.tail()
    assert not collector.finished, f"the healthy stream ended: {collector.describe_end()}"
    got = [harness.trade_from_update(item.response.price) for item in collector.prices()]
    assert len(got) > 20
    assert got == expected_trades[:len(got)], harness.first_difference(got, expected_trades)
    # The server said what it did with the descriptor limit.
    assert server.log.matching(r"open-file limit"), "no open-file limit line at startup"
