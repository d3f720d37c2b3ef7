"""Backfill over the real binary: trades missed during an outage are fetched
from the fake's WebSocket API (trades.historical) and delivered in order,
before the live trades that arrived meanwhile; what cannot be fetched is
announced with a GapNotice, exactly where it belongs in the stream.

Contract under test (issue 17, items 1 and 2):
- After a drop followed by refused handshakes while the market goes on, every
  client receives every trade id of every symbol exactly once, in order; each
  trade's fields equal the fake's history. Backfilled trades carry
  `backfilled = true` (and event_time_ms = trade_time_ms: the history has no
  event time); live ones do not.
- Ids the history withholds reach every client as one GapNotice (symbol,
  first and last missing id, REASON_HISTORY_MISSING), after the trade before
  them and before the trade after them, and no GapNotice is sent otherwise.
- An API error announces the range (REASON_API_REFUSED); a 429 with
  retryAfter pauses and then the backfill completes.
- Metrics count trades backfilled, requests, weight and unrecoverable gaps.

Every wait is bounded in time; every loop in count.
"""

from __future__ import annotations

import collections
import re
import time
import urllib.request

import pytest

import fake_binance
import harness
from fake_binance import FakeBinance, Frame
from harness import FEED_CONNECTED_RE, FEED_CONNECTION_LOST_RE

CONNECT_TIMEOUT_S = 10.0
LOG_TIMEOUT_S = 5.0
SETTLE_TIMEOUT_S = 15.0
EXTRA_MESSAGE_GRACE_S = 0.3
NOT_FOUND = 5
BACKFILL_COMPLETE_RE = re.compile(r"\bfeed backfill complete\"?\s*$")
GAP_UNRECOVERABLE_RE = re.compile(r"\bfeed gap unrecoverable\"?\s*$")
FAST_RECONNECT = dict(stale_timeout="2s", reconnect_base="100ms", reconnect_cap="400ms")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> fake_binance.TestPKI:
    return fake_binance.make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def recorded_frames() -> list[Frame]:
    return fake_binance.load_frames(harness.TRADES_FIXTURE)


@pytest.fixture
def fakes():
    """Factory: fakes(frames, certificate, rate=...), stopped at teardown (list it before start_server)."""
    with fake_binance.started_fakes(300.0) as make:
        yield make


def start_backfilling(start_server, fake: FakeBinance, ca, *extra: str, **options) -> harness.TickwireServer:
    argv = harness.live_feed_argv(fake.url(), ca_file=ca.cert, api_url=fake.api_url(),
                                  extra=list(extra), **{**FAST_RECONNECT, **options})
    return start_server(argv=argv)


def open_prices(make_channel, make_collector, server, name: str, deadline_s: float = 120.0):
    chan = make_channel(server.target)
    harness.wait_channel_ready(chan)
    collector = harness.open_registered_stream(chan, make_collector, name=name, deadline_s=deadline_s)
    return collector


def history_trade(frame: Frame, backfilled: bool) -> harness.Trade:
    """What a client must receive for `frame`: a backfilled trade has no event
    time of its own in Binance's history, so it carries the trade time."""
    trade = harness.trade_from_frame(frame.text)
    if backfilled:
        trade = harness.Trade(symbol=trade.symbol, price=trade.price, quantity=trade.quantity,
                              trade_id=trade.trade_id, trade_time_ms=trade.trade_time_ms,
                              event_time_ms=trade.trade_time_ms)
    return trade


def tape(collector) -> list:
    """The client's prices and gap notices, in the order received."""
    with collector._cond:
        items = list(collector.items)
    return [item.response for item in items if item.response.WhichOneof("payload") in ("price", "gap")]


def assert_complete_tape(collector, frames: list[Frame], withheld: dict[str, set[int]] | None = None) -> dict:
    """Per symbol: every id of `frames` exactly once, in order, fields equal
    to the history, except `withheld` ids, each withheld run announced by one
    GapNotice in its place. Returns counts for the caller's report."""
    withheld = withheld or {}
    by_id = {(f.symbol, f.trade_id): f for f in frames}
    want: dict[str, list[int]] = collections.defaultdict(list)
    for f in frames:
        if f.trade_id not in withheld.get(f.symbol, set()):
            want[f.symbol].append(f.trade_id)
    got: dict[str, list[int]] = collections.defaultdict(list)
    gaps: dict[str, list[tuple[int, int, int]]] = collections.defaultdict(list)
    backfilled = 0
    for response in tape(collector):
        if response.WhichOneof("payload") == "gap":
            g = response.gap
            gaps[g.symbol].append((g.first_missing_id, g.last_missing_id, g.reason))
            continue
        p = response.price
        got[p.symbol].append(p.trade_id)
        frame = by_id.get((p.symbol, p.trade_id))
        assert frame is not None, f"{collector.name}: a trade the fake never made: {p}"
        assert harness.trade_from_update(p) == history_trade(frame, p.backfilled), (
            f"{collector.name}: fields differ for {p.symbol} {p.trade_id} (backfilled={p.backfilled})")
        backfilled += p.backfilled
        # A gap notice must come exactly where its ids would have been.
        if gaps[p.symbol] and got[p.symbol][-1] == gaps[p.symbol][-1][1] + 1 and len(got[p.symbol]) > 1:
            assert got[p.symbol][-2] == gaps[p.symbol][-1][0] - 1, (p.symbol, gaps[p.symbol][-1])
    for symbol, ids in want.items():
        counts = collections.Counter(got[symbol])
        duplicated = sorted(i for i, n in counts.items() if n > 1)
        missing = sorted(set(ids) - set(got[symbol]))
        out_of_order = sum(1 for a, b in zip(got[symbol], got[symbol][1:]) if b <= a)
        assert (duplicated, missing, out_of_order) == ([], [], 0), (
            f"{collector.name} {symbol}: {len(missing)} lost (first {missing[:5]}), "
            f"{len(duplicated)} duplicated (first {duplicated[:5]}), {out_of_order} out of order")
        assert got[symbol] == ids
    expected_gaps = {s: runs(sorted(ids)) for s, ids in withheld.items() if ids}
    assert {s: [(a, b) for a, b, _ in v] for s, v in gaps.items() if v} == expected_gaps, (
        f"{collector.name}: gap notices {dict(gaps)}, want {expected_gaps}")
    return {"backfilled": backfilled, "gaps": sum(len(v) for v in gaps.values()),
            "gap_reasons": [r for v in gaps.values() for _, _, r in v]}


def runs(ids: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in ids:
        if out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def wait_tape(collectors_, n_prices: int, server, fake, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    for c in collectors_:
        reached = harness.wait_until(lambda: len(c.prices()) >= n_prices, timeout_s)
        assert reached, (f"{c.name}: {len(c.prices())} of {n_prices} prices within {timeout_s}s "
                         f"({c.describe_end()}); API requests {fake.api.requests()[-5:]}\n"
                         f"server log tail:\n{server.log.tail(30)}")
    time.sleep(EXTRA_MESSAGE_GRACE_S)


def outage(fake: FakeBinance, server, refusals: int, seconds: float) -> None:
    """Drops every open stream connection (no close frame), refuses the next
    `refusals` handshakes, and lets the market run for `seconds` meanwhile."""
    before = server.log.count()
    opened = len(fake.websocket_connections())
    fake.refuse_next(refusals)
    for record in fake.open_connections():
        fake.drop(record.id)
    server.log.wait_for(FEED_CONNECTION_LOST_RE, LOG_TIMEOUT_S, before)
    time.sleep(seconds)
    fake.wait_websocket_count(opened + 1, CONNECT_TIMEOUT_S)


def test_drop_and_refused_handshakes_lose_and_repeat_nothing(pki, fakes, start_server, grpc_channels,
                                                             collectors, recorded_frames):
    frames = recorded_frames[:9000]
    fake = fakes(frames, pki.server, rate=400)
    server = start_backfilling(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    clients = [open_prices(grpc_channels, collectors, server, f"client{i}") for i in range(2)]
    fake.resume()
    for round_ in range(2):  # bounded: two outages
        time.sleep(1.5)
        outage(fake, server, refusals=2, seconds=0.2)
    time.sleep(1.0)
    position = fake.pause()
    wait_tape(clients, position, server, fake)
    for client in clients:
        counts = assert_complete_tape(client, frames[:position])
        assert counts["backfilled"] > 0, "the outages were repaired without a single backfilled trade?"
        assert counts["gaps"] == 0
    assert fake.api.requests(), "no trades.historical request reached the fake"
    assert all(r.status == 200 for r in fake.api.requests())
    assert not server.log.matching(GAP_UNRECOVERABLE_RE)
    assert server.log.matching(BACKFILL_COMPLETE_RE)


def skipped_outage(fake: FakeBinance, server, before_n: int, missed_n: int) -> list[Frame]:
    """Deterministic: publish `before_n`, drop the open connection, let
    `missed_n` trades pass unheard, and wait for the reconnection. Returns the
    missed frames."""
    fake.publish_now(before_n)
    before = server.log.count()
    attempts = len(fake.connections())
    # A connection that streamed is replaced at once (issue 17): two refused
    # handshakes keep the replacement from landing before the skip, which
    # needs no connection open.
    fake.refuse_next(2)
    for record in fake.open_connections():
        fake.drop(record.id)
    server.log.wait_for(FEED_CONNECTION_LOST_RE, LOG_TIMEOUT_S, before)
    missed = fake.skip(missed_n)
    fake.wait_open(attempts + 3, CONNECT_TIMEOUT_S)
    return missed


def test_withheld_history_is_announced_once_in_its_place(pki, fakes, start_server, grpc_channels,
                                                         collectors, recorded_frames):
    frames = recorded_frames[:1200]
    fake = fakes(frames, pki.server)
    server = start_backfilling(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    clients = [open_prices(grpc_channels, collectors, server, f"client{i}") for i in range(2)]
    fake.publish_now(300)
    wait_tape(clients, 300, server, fake)
    for client in clients:
        assert not [r for r in tape(client) if r.WhichOneof("payload") == "gap"], "a gap notice before any gap"
    # Which ETH ids the outage will miss is known before it happens: frames are fixed.
    missed_eth = [f.trade_id for f in frames[300:600] if f.symbol == "ETHUSDT"]
    assert len(missed_eth) > 20
    withheld = set(missed_eth[5:12])
    fake.api.withhold("ETHUSDT", withheld)
    skipped_outage(fake, server, 0, 300)
    fake.publish_now(len(frames))
    wait_tape(clients, len(frames) - len(withheld), server, fake)
    _, line = server.log.wait_for(GAP_UNRECOVERABLE_RE, LOG_TIMEOUT_S)
    assert harness.metadata_str(line, "reason") == "history_missing", line
    for client in clients:
        counts = assert_complete_tape(client, frames, {"ETHUSDT": withheld})
        assert counts["gap_reasons"] == [4], counts  # REASON_HISTORY_MISSING
        assert counts["backfilled"] == 300 - len(withheld)


def test_api_error_announces_and_429_waits_for_retry_after(pki, fakes, start_server, grpc_channels,
                                                          collectors, recorded_frames):
    frames = recorded_frames[:1500]
    fake = fakes(frames, pki.server)
    server = start_backfilling(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server, "client")
    # First outage: the API answers 429 once (retryAfter 1.5 s from now), then serves.
    retry_after_ms = time.time_ns() // 1_000_000 + 1500
    fake.api.fail_next(1, status=429, retry_after_ms=retry_after_ms)
    skipped_outage(fake, server, 300, 300)
    fake.publish_now(200)
    wait_tape([client], 800, server, fake)
    statuses = [r.status for r in fake.api.requests()]
    assert statuses[0] == 429 and all(s == 200 for s in statuses[1:]), statuses
    early_ms = retry_after_ms - fake.api.requests()[1].wall_ms
    assert early_ms <= 0, f"asked again {early_ms} ms before the 429's retryAfter"
    assert_complete_tape(client, frames[:800])
    # Second outage: every request is refused with 400: each symbol's range is announced.
    fake.api.fail_next(10, status=400, code=-1121, msg="Invalid symbol.")
    missed = skipped_outage(fake, server, 0, 300)
    fake.publish_now(len(frames))
    withheld = collections.defaultdict(set)
    for f in missed:
        withheld[f.symbol].add(f.trade_id)
    wait_tape([client], len(frames) - len(missed), server, fake)
    counts = assert_complete_tape(client, frames, withheld)
    assert sorted(counts["gap_reasons"]) == [3, 3], counts  # REASON_API_REFUSED, once per symbol
    metrics = scrape(server)
    assert 'tickwire_unrecoverable_gaps_total{reason="api_refused"} 2' in metrics, metrics
    assert 'tickwire_unrecoverable_gaps_total{reason="history_missing"} 0' in metrics, metrics
    assert f"tickwire_backfill_trades_total {300}" in metrics, metrics
    requests = len(fake.api.requests())
    assert f"tickwire_backfill_requests_total {requests}" in metrics, metrics
    assert f"tickwire_backfill_weight_spent_total {25 * requests}" in metrics, metrics


def scrape(server) -> str:
    if server.metrics_port is None:
        server.wait_metrics_listening()
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_agg_trade_gaps_are_filled_from_aggregates(pki, fakes, start_server, grpc_channels, collectors,
                                                   recorded_frames):
    frames = fake_binance.as_agg_trades(recorded_frames[:900])
    fake = fakes(frames, pki.server)
    server = start_backfilling(start_server, fake, pki.ca, stream="aggTrade")
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server, "client")
    skipped_outage(fake, server, 300, 300)
    fake.publish_now(len(frames))
    wait_tape([client], len(frames), server, fake)
    counts = assert_complete_tape(client, frames)
    assert counts["backfilled"] == 300 and counts["gaps"] == 0, counts
    assert {r.method for r in fake.api.requests()} == {"trades.aggregate"}
