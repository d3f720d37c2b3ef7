"""Issue 17's whole fault schedule at once, with backfill on (the default):
a poisoned id (+10¹²), a duplicate, two trades swapped (the later one opens a
gap the earlier one fills, late), trades priced 0 or below, a drop followed by
two refused handshakes while the market goes on, a stall, and a 1001 close of
a healthy connection. Every client must receive every real trade id of every
symbol exactly once, in id order, with fields equal to the fake's history, and
no gap notice: the history holds everything the outages missed.

Every wait is bounded in time; every loop in count.
"""

from __future__ import annotations

import time

import fake_binance
from harness import FEED_CONNECTED_RE
# Fixtures and helpers shared with the backfill module (pytest registers imported fixtures).
from test_backfill import (CONNECT_TIMEOUT_S, LOG_TIMEOUT_S, assert_complete_tape, fakes, open_prices,  # noqa: F401
                           pki, recorded_frames, start_backfilling, wait_tape)

POISON = 10 ** 12
PRICES_BETWEEN_FAULTS = 150
FAULT_TIMEOUT_S = 15.0


def index_of(frames, symbol: str, start: int) -> int:
    return next(i for i in range(start, len(frames)) if frames[i].symbol == symbol)


def wait_more(clients, count: int, server, fake) -> None:
    wait_tape(clients, min(count, len(fake.frames)), server, fake, timeout_s=FAULT_TIMEOUT_S)


def test_the_whole_fault_schedule_loses_and_repeats_nothing(pki, fakes, start_server, grpc_channels, collectors,
                                                            recorded_frames):
    frames = list(recorded_frames[:4000])
    poisoned_at = index_of(frames, "ETHUSDT", 200)
    poisoned = fake_binance.altered_frame(frames[poisoned_at], t=frames[poisoned_at].trade_id + POISON)
    duplicate_at = index_of(frames, "ETHUSDT", 400)
    first = index_of(frames, "BTCUSDT", 600)
    second = index_of(frames, "BTCUSDT", first + 1)
    frames[first], frames[second] = frames[second], frames[first]
    fake = fakes(frames, pki.server, rate=300)
    fake.inject_at(poisoned_at, [poisoned])
    fake.inject_at(duplicate_at + 1, [frames[duplicate_at].text])
    # Each bad price impersonates the real trade sent right after it (same id).
    for index, fields in {800: {"p": "0"}, 820: {"p": "-0"}, 840: {"p": "-1.5"}, 860: {"q": "0"}}.items():
        fake.inject_at(index, [fake_binance.altered_frame(frames[index], **fields)])
    server = start_backfilling(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    clients = [open_prices(grpc_channels, collectors, server, f"client{i}") for i in range(2)]
    fake.resume()
    wait_more(clients, 1000, server, fake)  # past the injected faults

    fake.refuse_next(2, status=503)
    fake.drop(1)
    fake.wait_open(4, 3 * CONNECT_TIMEOUT_S)
    wait_more(clients, len(clients[0].prices()) + PRICES_BETWEEN_FAULTS, server, fake)
    fake.stall(4)
    fake.wait_open(5, FAULT_TIMEOUT_S)
    wait_more(clients, len(clients[0].prices()) + PRICES_BETWEEN_FAULTS, server, fake)
    fake.close(5, code=1001)
    fake.wait_open(6, CONNECT_TIMEOUT_S)
    wait_more(clients, len(clients[0].prices()) + PRICES_BETWEEN_FAULTS, server, fake)
    time.sleep(0.5)

    position = fake.pause()
    wait_tape(clients, position, server, fake)
    # The tape is in id order per symbol: the swapped pair arrives sorted.
    passed = sorted(frames[:position], key=lambda f: (f.symbol, f.trade_id))
    for client in clients:
        counts = assert_complete_tape(client, passed)
        assert counts["backfilled"] > 0, "three outages repaired without one backfilled trade?"
        assert counts["gaps"] == 0
    # The poisoned, duplicated and zero-priced frames never matched the
    # history's fields, so assert_complete_tape has already shown none arrived.
