"""Issue 20's HTTP/2 attacks (items 1 and 6): each one is cut off with an honest
GOAWAY while a healthy grpcio client reads StreamPrices from a 20x replay.

- HPACK bomb from 4 connections: GOAWAY ENHANCE_YOUR_CALM; the healthy client
  loses nothing, its p99 latency stays within 2x (or +20 ms) of the quiet
  window's, and the loop's indicator batch interval stays under 150 ms.
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

import harness
from test_http2_abuse import (  # helpers and the `healthy` fixture, not tests
    CANCEL, CONTINUATION, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM, HEADERS, RST_STREAM,
    attack_connection, client_preface, frame, healthy, p99, price_latencies_ms, read_until_closed,
    request_block, send_then_watch, send_until_cut, under_attack)

PROTOCOL_ERROR = 0x1
BOMB_CONNECTIONS = 4
# Each bomb connection is reopened this many times at most, within BOMB_WINDOW_S.
BOMB_ROUNDS = 40
BOMB_WINDOW_S = 3.0
MAX_BATCH_INTERVAL_MS = 150
QUIET_S = 2.0
STOPPED_RE = r"\bstopped\b"

__all__ = ["healthy"]  # the fixture is used by name


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


def bomb_repeatedly(port: int, data: bytes, codes: list, deadline: float) -> None:
    for _ in range(BOMB_ROUNDS):  # bounded in count and by the deadline
        if time.monotonic() >= deadline:
            return
        sock = attack_connection(port)
        try:
            started = time.monotonic()
            send_until_cut(sock, data)
            codes.append(read_until_closed(sock, started, 5.0).goaway_code)
        finally:
            sock.close()


def batch_interval_max_ms(server) -> int:
    server.stop()
    lines = server.log.matching(STOPPED_RE)
    assert lines, f"no `stopped` line: {server.log.tail()}"
    return harness.metadata_int(lines[-1], "batch_interval_max_ms")


def latencies_around(server, collector, expected_trades, attack) -> tuple[list[float], list[float]]:
    """Healthy latencies (ms) in a quiet window, then while `attack()` runs;
    checks the healthy stream lost nothing and the server lives."""
    quiet_from = collector.count()
    time.sleep(QUIET_S)
    attack_from = collector.count()
    attack()
    attack_to = collector.count()
    time.sleep(0.5)
    got = [harness.trade_from_update(item.response.price) for item in collector.prices()]
    assert got == expected_trades[:len(got)], harness.first_difference(got, expected_trades)
    assert not collector.finished and server.alive(), collector.describe_end()
    quiet = price_latencies_ms(collector.items[quiet_from:attack_from])
    attacked = price_latencies_ms(collector.items[attack_from:attack_to])
    assert quiet and attacked, (len(quiet), len(attacked))
    return quiet, attacked


def test_hpack_bomb_from_four_connections(healthy, expected_trades):
    server, collector = healthy
    data = bomb_frames(server.port)
    codes: list = []

    def attack():
        deadline = time.monotonic() + BOMB_WINDOW_S
        threads = [threading.Thread(target=bomb_repeatedly, args=(server.port, data, codes, deadline),
                                    daemon=True, name=f"bomb-{n}") for n in range(BOMB_CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(BOMB_WINDOW_S + 10)
        return codes

    since = server.log.count()
    quiet_ms, attacked_ms = latencies_around(server, collector, expected_trades, attack)
    print(f"[hpack bomb] {len(codes)} bomb connections, {len(data)} bytes each; GOAWAY codes {set(codes)}")
    assert codes and all(code == ENHANCE_YOUR_CALM for code in codes), codes
    assert server.log.matching(r"HPACK bomb", since), server.log.tail()
    quiet_p99, attacked_p99 = p99(quiet_ms), p99(attacked_ms)
    print(f"[hpack bomb] healthy p99 ingest->receive: quiet {quiet_p99:.2f} ms over {len(quiet_ms)} trades, "
          f"under attack {attacked_p99:.2f} ms over {len(attacked_ms)} trades")
    assert attacked_p99 <= max(2 * quiet_p99, quiet_p99 + 20), (quiet_p99, attacked_p99)
    interval = batch_interval_max_ms(server)
    print(f"[hpack bomb] indicator batch interval max {interval} ms")
    assert interval < MAX_BATCH_INTERVAL_MS, interval


def test_rapid_reset_gets_enhance_your_calm(healthy, expected_trades):
    server, collector = healthy
    encoder = hpack.Encoder()
    pairs = bytearray(client_preface())
    for index in range(2_000):
        stream_id = 1 + 2 * index
        pairs += frame(HEADERS, END_HEADERS, stream_id, request_block(encoder, server.port))
        pairs += frame(RST_STREAM, 0, stream_id, struct.pack(">I", CANCEL))

    since = server.log.count()
    outcome = under_attack("rapid reset", server, collector, expected_trades, send_then_watch(server.port, bytes(pairs)))
    print(f"[rapid reset] attacker: {outcome.describe()}")
    assert outcome.closed and outcome.goaway_code == ENHANCE_YOUR_CALM, outcome.describe()
    server.log.wait_for(r"rapid reset", 2.0, since)


def test_continuation_flood_gets_enhance_your_calm(healthy, expected_trades):
    server, collector = healthy
    encoder = hpack.Encoder()
    flood = bytearray(client_preface())
    flood += frame(HEADERS, 0, 1, request_block(encoder, server.port))  # no END_HEADERS
    for index in range(10_000):
        flood += frame(CONTINUATION, 0, 1, encoder.encode([(f"x-c{index % 4}", "v")]))

    since = server.log.count()
    outcome = under_attack("continuation flood", server, collector, expected_trades,
                           send_then_watch(server.port, bytes(flood)))
    print(f"[continuation flood] attacker: {outcome.describe()}")
    assert outcome.closed and outcome.goaway_code == ENHANCE_YOUR_CALM, outcome.describe()
    server.log.wait_for(r"CONTINUATION flood", 2.0, since)


def test_lower_stream_id_gets_protocol_error(healthy, expected_trades):
    """h2spec 5.1.1/2: HEADERS on stream 5, then on stream 3."""
    server, collector = healthy
    encoder = hpack.Encoder()
    data = bytearray(client_preface())
    data += frame(HEADERS, END_HEADERS | END_STREAM, 5, request_block(encoder, server.port))
    data += frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(encoder, server.port))

    outcome = under_attack("lower stream id", server, collector, expected_trades,
                           send_then_watch(server.port, bytes(data)))
    print(f"[lower stream id] attacker: {outcome.describe()}")
    assert outcome.closed and outcome.goaway_code == PROTOCOL_ERROR, outcome.describe()
