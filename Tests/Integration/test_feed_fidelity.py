"""Issue 17, items 3–5, end to end against the fake Binance.

- A trade whose id is off by 10¹² is held as suspect and, when the real
  sequence goes on, dropped: the symbol is not cut off, and clients receive
  the real sequence. A duplicate is dropped; a late trade that fills its gap
  is delivered once.
- Trades priced 0, -0 or below (or with such a quantity) never reach a client.
- After a connection that reached streaming ends, the next attempt goes out at
  once, whatever failed before: within 1 s of a 1001 close, and within
  --stale-timeout + 1 s of a stall.

Every wait is bounded in time; every loop in count.
"""

from __future__ import annotations

import collections
import re
import time

import fake_binance
import harness
from harness import (FEED_CONNECTED_RE, FEED_CONNECTION_LOST_RE, FEED_FRAME_SKIPPED_RE, FEED_GAP_RE, metadata_int,
                     metadata_str)
# Fixtures and helpers shared with the feed's main module (pytest registers imported fixtures).
from test_binance_feed import (CONNECT_TIMEOUT_S, DELIVERY_TIMEOUT_S, LOG_TIMEOUT_S, assert_exactly,  # noqa: F401
                               assert_exactly_per_symbol, by_symbol, context, fakes, lines_after, open_prices, pki,
                               received_trades, recorded_frames, settle, start_live, stopped_line, trades_of,
                               wait_prices)
from test_metrics import scrape

FEED_SUSPECT_RE = re.compile(r"\bfeed suspect trade id\"?\s*$")
FEED_OUTLIER_RE = re.compile(r"\bfeed outlier dropped\"?\s*$")
FEED_RESET_RE = re.compile(r"\bfeed sequence reset\"?\s*$")
FEED_CUT_OFF_RE = re.compile(r"\bfeed symbol cut off\"?\s*$")
POISON = 10 ** 12
# The reconnect contract (issue 17, item 5).
AFTER_ENDING_BOUND_S = 1.0


def index_of(frames, symbol: str, start: int) -> int:
    return next(i for i in range(start, len(frames)) if frames[i].symbol == symbol)


def test_a_poisoned_id_does_not_cut_the_symbol_off(pki, fakes, start_server, grpc_channels, collectors,
                                                   recorded_frames):
    frames = list(recorded_frames[:2000])
    at = index_of(frames, "ETHUSDT", 500)
    poisoned_id = frames[at].trade_id + POISON
    # Ahead of the real trade: nothing yet proves it wrong, so it is held, then dropped.
    poisoned = fake_binance.altered_frame(frames[at], t=poisoned_id)
    # A duplicate of an ETHUSDT trade, and two ETHUSDT trades swapped: the
    # later one opens a one-trade gap that the earlier one fills, late.
    dup = index_of(frames, "ETHUSDT", 900)
    first = index_of(frames, "ETHUSDT", 1300)
    second = index_of(frames, "ETHUSDT", first + 1)
    frames[first], frames[second] = frames[second], frames[first]
    fake = fakes(pki.server, frames)
    fake.inject_at(at, [poisoned])
    fake.inject_at(dup + 1, [frames[dup].text])
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    server.wait_metrics_listening()
    client = open_prices(grpc_channels, collectors, server)
    fake.publish_now(len(frames))
    settle(client, fake, server, len(frames))
    assert not client.finished, client.describe_end()
    # Every real trade, in the order sent (the swapped pair included), once.
    assert_exactly(client, trades_of(frames))
    eth = [t.trade_id for t in received_trades(client) if t.symbol == "ETHUSDT"]
    assert poisoned_id not in eth

    _, suspect = server.log.wait_for(FEED_SUSPECT_RE, LOG_TIMEOUT_S)
    assert metadata_str(suspect, "symbol") == "ETHUSDT" and metadata_int(suspect, "trade_id") == poisoned_id, suspect
    _, outlier = server.log.wait_for(FEED_OUTLIER_RE, LOG_TIMEOUT_S)
    assert metadata_int(outlier, "trade_id") == poisoned_id, outlier
    assert not lines_after(server, FEED_RESET_RE) and not lines_after(server, FEED_CUT_OFF_RE), context(server, fake)
    gaps = lines_after(server, FEED_GAP_RE)
    assert len(gaps) == 1 and metadata_int(gaps[0], "missing_trades") == 1, gaps  # the swapped pair's, then filled

    metrics = scrape(server)
    assert metrics.value("tickwire_feed_suspect_trade_ids_total", symbol="ethusdt") == 1
    assert metrics.value("tickwire_feed_outliers_dropped_total", symbol="ethusdt") == 1
    assert metrics.value("tickwire_feed_sequence_resets_total", symbol="ethusdt") == 0
    assert metrics.value("tickwire_feed_symbol_cut_off", symbol="ethusdt") == 0
    assert metrics.value("tickwire_feed_late_trades_total") == 1
    assert metrics.value("tickwire_feed_duplicates_dropped_total") == 1
    stopped = stopped_line(server, client)
    assert metadata_int(stopped, "feed_trades") == len(frames), stopped


def test_prices_and_quantities_at_or_below_zero_never_reach_a_client(pki, fakes, start_server, grpc_channels,
                                                                     collectors, recorded_frames):
    frames = recorded_frames[:1000]
    fake = fakes(pki.server, frames)
    # Each bad frame impersonates the real trade sent right after it (same
    # id): were it accepted, a client would see it and the real one dropped.
    bad = {100: {"p": "0"}, 200: {"p": "-0"}, 300: {"p": "-1.5"}, 400: {"p": "0.00000000"}, 500: {"q": "0"},
           600: {"q": "-0.001"}}
    for index, fields in bad.items():
        fake.inject_at(index, [fake_binance.altered_frame(frames[index], **fields)])
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.publish_now(len(frames))
    settle(client, fake, server, len(frames))
    assert_exactly(client, trades_of(frames))
    assert all(t.price > 0 for t in received_trades(client))
    skipped = lines_after(server, FEED_FRAME_SKIPPED_RE)
    assert skipped and all(metadata_str(line, "reason") == "malformed" for line in skipped), skipped
    stopped = stopped_line(server, client)
    assert metadata_int(stopped, "feed_skipped_frames") == len(bad), stopped
    assert metadata_int(stopped, "feed_trades") == len(frames), stopped


def test_endings_reconnect_at_once_after_earlier_failures(pki, fakes, start_server, grpc_channels, collectors,
                                                          recorded_frames):
    """The issue's fault schedule: a drop followed by two refused handshakes
    while trades go on, a stall, then a 1001 close of a healthy connection."""
    fake = fakes(pki.server, recorded_frames, rate=200)
    server = start_live(start_server, fake, pki.ca, stale_timeout="2s")
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    wait_prices(client, 100, DELIVERY_TIMEOUT_S, server, fake)

    fake.refuse_next(2, status=503)
    fake.drop(1)
    fake.wait_open(4, 3 * CONNECT_TIMEOUT_S)
    assert [r.status for r in fake.connections()[1:4]] == [503, 503, 101], context(server, fake)
    count = len(client.prices())
    wait_prices(client, count + 100, DELIVERY_TIMEOUT_S, server, fake)  # connection 4 reached streaming

    fake.stall(4)
    replacement = fake.wait_open(5, 10.0)
    stalled = fake.connection(4)
    silent_from = stalled.last_frame_mono or stalled.stalled_mono
    waited = replacement.accepted_mono - silent_from
    assert waited <= 2.0 + AFTER_ENDING_BOUND_S, (
        f"stall replaced {waited:.2f}s after the last frame (--stale-timeout 2s){context(server, fake)}")
    count = len(client.prices())
    wait_prices(client, count + 100, DELIVERY_TIMEOUT_S, server, fake)

    closing = time.monotonic()
    fake.close(5, code=1001)
    following = fake.wait_attempts(6, 5.0)[5]
    after = following.accepted_mono - closing
    assert after <= AFTER_ENDING_BOUND_S, f"next attempt {after:.2f}s after the 1001 close{context(server, fake)}"
    fake.wait_open(6, CONNECT_TIMEOUT_S)
    count = len(client.prices())
    wait_prices(client, count + 100, DELIVERY_TIMEOUT_S, server, fake)
    fake.pause()
    # Each ending announced an immediate retry; the contract's 1 s alone would
    # also pass with the base backoff (0.5–1 s).
    lost = {metadata_int(line, "connection"): line for line in lines_after(server, FEED_CONNECTION_LOST_RE)}
    for connection in (1, 4, 5):
        assert metadata_int(lost[connection], "retry_in_ms") == 0, lost.get(connection, lost)
    for symbol, trades in by_symbol(received_trades(client)).items():
        ids = [t.trade_id for t in trades]
        assert ids == sorted(set(ids)), f"{symbol}: out of order or duplicated across the schedule"
    assert not client.finished, client.describe_end()
