"""Issue 20's HTTP/2 attacks (items 1 and 6), each kept up for a window of
attack_verdict.ATTACK_MIN_S against a release build while a healthy client
reads 2,000 trades/s; every one gets attack_verdict's checks (alive, 0 gaps,
p99 within 2x or +20 ms of the quiet window's, RSS within the budget) and is
cut off with an honest GOAWAY:

- HPACK bomb from 4 connections: GOAWAY ENHANCE_YOUR_CALM, and the loop's
  indicator batch interval stays under 150 ms.
- Rapid Reset: GOAWAY ENHANCE_YOUR_CALM and a log line saying "rapid reset".
- CONTINUATION flood: GOAWAY ENHANCE_YOUR_CALM.
- HEADERS on a lower, skipped stream id (h2spec 5.1.1/2): GOAWAY PROTOCOL_ERROR.

Every loop is bounded in count and every read by a deadline.
"""

from __future__ import annotations

import struct
import threading
import time

import hpack
import pytest

import harness
from attack_verdict import ATTACK_MIN_S, run_for
from test_http2_abuse import (  # helpers, not tests
    CANCEL, CONTINUATION, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM, HEADERS, RST_STREAM,
    attack_connection, client_preface, frame, read_until_closed, request_block, send_then_watch,
    send_until_cut)

pytestmark = pytest.mark.attack

PROTOCOL_ERROR = 0x1
BOMB_CONNECTIONS = 4
# Each of the BOMB_CONNECTIONS is reopened this many times over the window
# once the server has cut it: 4 x 40 x 147 KB in 3 s, about 7.9 MB/s (issue 20
# measured ~570 KB/s when each bomb still took the loop ~200 ms).
BOMB_ROUNDS = 40
MAX_BATCH_INTERVAL_MS = 150
STOPPED_RE = r"\bstopped\b"
# One-connection attacks are repeated this many times at most over the window.
REPEATS = 60


def hpack_integer(value: int, prefix_bits: int, first_byte_flags: int) -> bytes:
    """RFC 7541 §5.1 integer with an N-bit prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = bytearray([first_byte_flags | limit])
    value -= limit
    while value >= 128:  # bounded: 7 bits per round
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def bomb_frames(port: int) -> bytes:
    """~147 KB: a request, one 4,000-byte field added to the dynamic table,
    then 1-byte references to it, in HEADERS + 8 CONTINUATION frames of 16 KiB
    (about 590 MB decoded, as issue 20 measured)."""
    encoder = hpack.Encoder()
    block = bytearray(request_block(encoder, port))
    name, value = b"x-bomb", b"a" * 4000
    # Literal with incremental indexing, new name: it becomes dynamic index 62
    # and, at 4,038 bytes, evicts everything else from the 4,096-byte table.
    block += b"\x40" + hpack_integer(len(name), 7, 0) + name + hpack_integer(len(value), 7, 0) + value
    frame_bytes = 16_384
    block += b"\xbe" * (9 * frame_bytes - len(block))  # indexed field 62
    chunks = [bytes(block[i:i + frame_bytes]) for i in range(0, len(block), frame_bytes)]
    data = bytearray(client_preface())
    data += frame(HEADERS, 0, 1, chunks[0])
    for index, chunk in enumerate(chunks[1:], start=1):
        data += frame(CONTINUATION, END_HEADERS if index == len(chunks) - 1 else 0, 1, chunk)
    return bytes(data)


def bomb_repeatedly(port: int, data: bytes, codes: list) -> None:
    """BOMB_ROUNDS bomb connections, one after another, spread over the window."""
    def once() -> None:
        sock = attack_connection(port)
        try:
            started = time.monotonic()
            send_until_cut(sock, data)
            codes.append(read_until_closed(sock, started, 5.0).goaway_code)
        finally:
            sock.close()
    run_for(ATTACK_MIN_S, once, BOMB_ROUNDS)


def batch_interval_max_ms(server) -> int:
    server.stop()
    lines = server.log.matching(STOPPED_RE)
    assert lines, f"no `stopped` line: {server.log.tail()}"
    return harness.metadata_int(lines[-1], "batch_interval_max_ms")


def test_hpack_bomb_from_four_connections(attack_bench):
    server = attack_bench.start()
    data = bomb_frames(server.port)
    codes: list = []

    def attack():
        threads = [threading.Thread(target=bomb_repeatedly, args=(server.port, data, codes),
                                    daemon=True, name=f"bomb-{n}") for n in range(BOMB_CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(ATTACK_MIN_S + 10)

    since = server.log.count()
    attack_bench.verdict("hpack bomb", attack)
    interval = batch_interval_max_ms(server)
    print(f"[hpack bomb] {len(codes)} bomb connections, {len(data)} bytes each; GOAWAY codes {set(codes)}; "
          f"indicator batch interval max {interval} ms")
    assert codes and all(code == ENHANCE_YOUR_CALM for code in codes), codes
    assert server.log.matching(r"HPACK bomb", since), server.log.tail()
    assert interval < MAX_BATCH_INTERVAL_MS, interval


def repeated(name: str, attack_bench, data_for, expected_code: int, log_re: str | None):
    """Runs one-connection attack `data_for(port)` REPEATS times over the
    window; each connection must be cut with `expected_code`."""
    server = attack_bench.start()
    data = data_for(server.port)
    since = server.log.count()
    run = attack_bench.verdict(name, lambda: run_for(ATTACK_MIN_S, send_then_watch(server.port, data), REPEATS))
    outcomes = run.result
    print(f"[{name}] {len(outcomes)} attacking connections; first: {outcomes[0].describe()}")
    assert outcomes, "the attack never ran"
    wrong = [o.describe() for o in outcomes if not (o.closed and o.goaway_code == expected_code)]
    assert not wrong, f"{len(wrong)} of {len(outcomes)} not cut with {expected_code}: {wrong[:3]}"
    if log_re is not None:
        server.log.wait_for(log_re, 2.0, since)


def rapid_reset_frames(port: int) -> bytes:
    encoder = hpack.Encoder()
    pairs = bytearray(client_preface())
    for index in range(2_000):
        stream_id = 1 + 2 * index
        pairs += frame(HEADERS, END_HEADERS, stream_id, request_block(encoder, port))
        pairs += frame(RST_STREAM, 0, stream_id, struct.pack(">I", CANCEL))
    return bytes(pairs)


def continuation_flood_frames(port: int) -> bytes:
    encoder = hpack.Encoder()
    flood = bytearray(client_preface())
    flood += frame(HEADERS, 0, 1, request_block(encoder, port))  # no END_HEADERS
    for index in range(10_000):
        flood += frame(CONTINUATION, 0, 1, encoder.encode([(f"x-c{index % 4}", "v")]))
    return bytes(flood)


def lower_stream_id_frames(port: int) -> bytes:
    """h2spec 5.1.1/2: HEADERS on stream 5, then on stream 3."""
    encoder = hpack.Encoder()
    data = bytearray(client_preface())
    data += frame(HEADERS, END_HEADERS | END_STREAM, 5, request_block(encoder, port))
    data += frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(encoder, port))
    return bytes(data)


def test_rapid_reset_gets_enhance_your_calm(attack_bench):
    repeated("rapid reset", attack_bench, rapid_reset_frames, ENHANCE_YOUR_CALM, r"rapid reset")


def test_continuation_flood_gets_enhance_your_calm(attack_bench):
    repeated("continuation flood", attack_bench, continuation_flood_frames, ENHANCE_YOUR_CALM,
             r"CONTINUATION flood")


def test_lower_stream_id_gets_protocol_error(attack_bench):
    repeated("lower stream id", attack_bench, lower_stream_id_frames, PROTOCOL_ERROR, None)
