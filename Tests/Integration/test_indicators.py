"""Indicators over the real server: subscription statuses, batching, and values
checked against TA-Lib on the replayed fixture.

Contract under test (StreamPrices, tickwire.v1):
- each IndicatorRequest gets exactly one SubscriptionStatus with its request_id,
  echoing symbol/type/period: 0 OK, 3 INVALID_ARGUMENT (type UNSPECIFIED, period
  < 2 or > --max-period), 5 NOT_FOUND (symbol not served), 8 RESOURCE_EXHAUSTED
  (past --max-subscriptions-per-stream, or the --max-indicators pool full);
  the stream stays open after every such error;
- a request that is not valid protobuf fails the stream with INVALID_ARGUMENT;
- every --indicator-interval each stream gets at most one IndicatorBatch with the
  latest value of each of its subscriptions that changed since its last batch;
- values are TA-Lib's SMA/EMA/RSI on the symbol's price series from the start of
  the replay, at the update's trade_id (1e-9 relative). A late EMA/RSI warms from
  the history ring, so it is compared only once 40 * period further trades of
  its symbol have passed; a late SMA is exact at once.

Requires numpy and ta-lib (requirements-indicators.txt).
"""

from __future__ import annotations

import math
import queue
import threading
import time

import grpc
import numpy as np
import pytest
import talib

import harness
from harness import REPLAY_FINISHED_RE

SYMBOLS = ("BTCUSDT", "ETHUSDT")
KINDS = ("SMA", "EMA", "RSI")
# Relative tolerance of a value against TA-Lib; the absolute floor only matters
# for an RSI of exactly 0.
REL_TOL = 1e-9
ABS_TOL = 1e-12
# EMA and RSI started from the oldest price in the history ring converge to
# TA-Lib's series (started at the first trade) within this many periods.
CONVERGENCE_PERIODS = 40
STATUS_TIMEOUT_S = 5.0
# After the replay finishes, how long the last batch may take (many intervals).
FINAL_BATCH_TIMEOUT_S = 5.0

OK, INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED = 0, 3, 5, 8


def pb():
    return harness.stubs()[0]


def type_enum(kind: str) -> int:
    return pb().IndicatorType.Value(f"INDICATOR_TYPE_{kind}")


def kind_name(type_value: int) -> str:
    return pb().IndicatorType.Name(type_value).removeprefix("INDICATOR_TYPE_")


# --------------------------------------------------------------------------
# Reference values
# --------------------------------------------------------------------------

class Reference:
    """Per-symbol price series of the fixture and TA-Lib's indicators on them."""

    def __init__(self, trades: list[harness.Trade]) -> None:
        self.prices: dict[str, np.ndarray] = {}
        self.index_of: dict[str, dict[int, int]] = {}
        self.trade_time_ms: dict[str, dict[int, int]] = {}
        for symbol in SYMBOLS:
            mine = [t for t in trades if t.symbol == symbol]
            self.prices[symbol] = np.array([t.price for t in mine], dtype=np.float64)
            self.index_of[symbol] = {t.trade_id: i for i, t in enumerate(mine)}
            self.trade_time_ms[symbol] = {t.trade_id: t.trade_time_ms for t in mine}
        self._series: dict[tuple[str, str, int], np.ndarray] = {}

    def series(self, symbol: str, kind: str, period: int) -> np.ndarray:
        key = (symbol, kind, period)
        if key not in self._series:
            function = {"SMA": talib.SMA, "EMA": talib.EMA, "RSI": talib.RSI}[kind]
            self._series[key] = function(self.prices[symbol], timeperiod=period)
        return self._series[key]

    def last_trade_id(self, symbol: str) -> int:
        return max(self.index_of[symbol])


@pytest.fixture(scope="module")
def reference() -> Reference:
    trades = harness.fixture_trades()
    assert len(trades) == harness.FIXTURE_TRADE_COUNT, "trades fixture changed"
    return Reference(trades)


# --------------------------------------------------------------------------
# A StreamPrices stream the test sends requests on at any time
# --------------------------------------------------------------------------

class RequestFeed:
    """A request iterator fed from the test thread; ends on stop() or after max_s."""

    def __init__(self, max_s: float) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_s

    def send(self, request) -> None:
        self._queue.put(request)

    def stop(self) -> None:
        self._stop.set()

    def __iter__(self):
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                yield self._queue.get(timeout=0.1)
            except queue.Empty:
                continue


class IndicatorStream:
    """One StreamPrices stream, its requests and what came back."""

    def __init__(self, make_channel, make_collector, target: str, name: str,
                 deadline_s: float = 120.0) -> None:
        self.name = name
        self.feed = RequestFeed(deadline_s)
        self.collector = make_collector(make_channel(target), name=name,
                                        requests=iter(self.feed), deadline_s=deadline_s)
        self.collector.release = _StoppingEvent(self.collector.release, self.feed)
        self.collector.start()
        self._next_id = 0
        self.sent: dict[str, object] = {}

    # --- requests ---

    def request(self, action: str, symbol: str, kind: str | int, period: int) -> str:
        self._next_id += 1
        request_id = f"{self.name}-{self._next_id}"
        message = pb().IndicatorRequest(
            action=pb().IndicatorRequest.Action.Value(f"ACTION_{action}"),
            symbol=symbol,
            type=kind if isinstance(kind, int) else type_enum(kind),
            period=period,
            request_id=request_id)
        self.sent[request_id] = message
        self.feed.send(message)
        return request_id

    def subscribe(self, symbol: str, kind: str | int, period: int) -> str:
        return self.request("SUBSCRIBE", symbol, kind, period)

    def unsubscribe(self, symbol: str, kind: str | int, period: int) -> str:
        return self.request("UNSUBSCRIBE", symbol, kind, period)

    # --- responses ---

    def all_items(self) -> list[harness.Received]:
        # The collector thread only appends; copying a list is atomic under the GIL.
        return list(self.collector.items)

    def items(self, payload: str) -> list[harness.Received]:
        return [i for i in self.all_items() if i.response.WhichOneof("payload") == payload]

    def statuses(self) -> dict[str, list]:
        by_id: dict[str, list] = {}
        for item in self.items("status"):
            by_id.setdefault(item.response.status.request_id, []).append(item.response.status)
        return by_id

    def wait_status(self, request_id: str, timeout_s: float = STATUS_TIMEOUT_S):
        found = harness.wait_until(lambda: request_id in self.statuses(), timeout_s, 0.01)
        assert found, (f"{self.name}: no SubscriptionStatus for request {request_id} "
                       f"({_describe(self.sent[request_id])}) within {timeout_s}s; "
                       f"{self.collector.describe_end()}")
        return self.statuses()[request_id][0]

    def expect_status(self, request_id: str, code: int):
        """Waits for the request's status and checks its code and echoed fields."""
        status = self.wait_status(request_id)
        sent = self.sent[request_id]
        assert status.code == code, (
            f"{self.name}: {_describe(sent)} answered code {status.code} ({status.message!r}), "
            f"want {code}")
        assert status.symbol.upper() == sent.symbol.upper(), (status, sent)
        assert status.type == sent.type and status.period == sent.period, (status, sent)
        return status

    def batches(self) -> list[harness.Received]:
        return self.items("indicators")

    def updates(self) -> list[tuple[int, object]]:
        """(batch number, IndicatorUpdate) for every update received, in order."""
        return [(n, u) for n, item in enumerate(self.batches())
                for u in item.response.indicators.updates]

    def prices_count(self) -> int:
        return len(self.items("price"))

    def seen_per_symbol(self) -> dict[str, int]:
        counts = dict.fromkeys(SYMBOLS, 0)
        for item in self.items("price"):
            counts[item.response.price.symbol] = counts.get(item.response.price.symbol, 0) + 1
        return counts

    def assert_one_status_per_request(self) -> None:
        statuses = self.statuses()
        for request_id, sent in self.sent.items():
            got = statuses.get(request_id, [])
            assert len(got) == 1, f"{self.name}: {_describe(sent)} got {len(got)} statuses: {got}"
        unknown = set(statuses) - set(self.sent)
        assert not unknown, f"{self.name}: statuses for requests never sent: {unknown}"


class _StoppingEvent:
    """The collector's release event, which also ends the request feed, so that a
    cancelled collector does not leave grpc's request thread waiting on it."""

    def __init__(self, event: threading.Event, feed: RequestFeed) -> None:
        self._event, self._feed = event, feed

    def set(self) -> None:
        self._feed.stop()
        self._event.set()

    def __getattr__(self, name):
        return getattr(self._event, name)


def _describe(request) -> str:
    action = pb().IndicatorRequest.Action.Name(request.action).removeprefix("ACTION_")
    return (f"{action} {request.symbol!r} {pb().IndicatorType.Name(request.type)} "
            f"period={request.period} id={request.request_id}")


def key_of(update) -> tuple[str, str, int]:
    return update.symbol, kind_name(update.type), update.period


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def check_batch_shape(stream: IndicatorStream, subscribed: set[tuple[str, str, int]]) -> None:
    """Every batch is non-empty, names each subscription at most once, names only
    subscriptions of this stream, and each subscription's trade_id only grows."""
    last_trade: dict[tuple, int] = {}
    for n, item in enumerate(stream.batches()):
        updates = item.response.indicators.updates
        assert len(updates) > 0, f"{stream.name}: batch {n} is empty"
        keys = [key_of(u) for u in updates]
        assert len(keys) == len(set(keys)), f"{stream.name}: batch {n} repeats a subscription: {keys}"
        for update, key in zip(updates, keys):
            assert key in subscribed, f"{stream.name}: batch {n} has {key}, not subscribed {sorted(subscribed)}"
            previous = last_trade.get(key)
            assert previous is None or update.trade_id > previous, (
                f"{stream.name}: batch {n} sends {key} at trade {update.trade_id} after an earlier "
                f"batch sent trade {previous}: only changed values belong in a batch")
            last_trade[key] = update.trade_id


def compare(reference: Reference, update) -> tuple[int | None, str | None]:
    """(index of the update's trade in its symbol's series, why it differs from
    TA-Lib or None)."""
    symbol, kind, period = key_of(update)
    index = reference.index_of.get(symbol, {}).get(update.trade_id)
    if index is None:
        return None, f"{symbol!r} has no trade {update.trade_id} in the fixture"
    if update.trade_time_ms != reference.trade_time_ms[symbol][update.trade_id]:
        return index, (f"trade_time_ms {update.trade_time_ms} is not trade {update.trade_id}'s "
                       f"{reference.trade_time_ms[symbol][update.trade_id]}")
    want = reference.series(symbol, kind, period)[index]
    if math.isnan(want):
        return index, (f"value {update.value!r} at trade {update.trade_id} (index {index}), where "
                       f"TA-Lib has none yet: the indicator should still be warming")
    if not math.isclose(update.value, want, rel_tol=REL_TOL, abs_tol=ABS_TOL):
        return index, (f"value {update.value!r} at trade {update.trade_id} (index {index}), TA-Lib "
                       f"{want!r}, relative error {abs(update.value - want) / abs(want):.3g}")
    return index, None


def assert_values_match(stream: IndicatorStream, reference: Reference,
                        min_index: dict[tuple, int] | None = None) -> dict[tuple, int]:
    """Checks every update against TA-Lib, except an update of key k at a trade
    index below min_index[k]; returns how many were compared per key."""
    compared: dict[tuple, int] = {}
    failures = []
    for n, update in stream.updates():
        key = key_of(update)
        index, problem = compare(reference, update)
        if index is not None and index < (min_index or {}).get(key, 0):
            continue  # before the late EMA/RSI has converged
        if problem is not None:
            failures.append(f"batch {n} {key}: {problem}")
        compared[key] = compared.get(key, 0) + 1
    assert not failures, (f"{stream.name}: {len(failures)} of {len(stream.updates())} updates "
                          f"differ from TA-Lib; first ones:\n  " + "\n  ".join(failures[:10]))
    return compared


def wait_final_values(stream: IndicatorStream, reference: Reference,
                      keys: set[tuple[str, str, int]], timeout_s: float = FINAL_BATCH_TIMEOUT_S) -> None:
    """Waits until each key's latest update carries its symbol's last trade."""
    def latest() -> dict[tuple, int]:
        out = {}
        for _, update in stream.updates():
            out[key_of(update)] = update.trade_id
        return out

    def done() -> bool:
        got = latest()
        return all(got.get(k) == reference.last_trade_id(k[0]) for k in keys)

    assert harness.wait_until(done, timeout_s, 0.05), (
        f"{stream.name}: after the replay finished, not every subscription's last update is its "
        f"symbol's last trade within {timeout_s}s: "
        f"{ {k: (latest().get(k), reference.last_trade_id(k[0])) for k in sorted(keys)} }")


def indicator_server(start_server, speed: str, wait_streams: int, extra=()):
    return start_server(replay=harness.TRADES_FIXTURE, speed=speed, wait_streams=wait_streams,
                        extra=list(extra))


# --------------------------------------------------------------------------
# (1) Subscribed before the first trade: every value is TA-Lib's
# --------------------------------------------------------------------------

EARLY_PERIODS = (2, 14, 200, 1000)


@pytest.mark.parametrize("speed", ["max", "40"])
def test_subscribed_before_trades_every_value_matches_talib(start_server, grpc_channels, collectors,
                                                             reference, speed):
    server = indicator_server(start_server, speed, wait_streams=2)
    subscriber = IndicatorStream(grpc_channels, collectors, server.target, "subscriber")
    keys = {(s, k, p) for s in SYMBOLS for k in KINDS for p in EARLY_PERIODS}
    assert len(keys) <= 64, "stay within the default --max-subscriptions-per-stream"
    request_ids = []
    for index, (symbol, kind, period) in enumerate(sorted(keys)):
        # Alternate the case: symbols are case-insensitive.
        request_ids.append(subscriber.subscribe(symbol.lower() if index % 2 else symbol, kind, period))
    for request_id in request_ids:
        subscriber.expect_status(request_id, OK)
    assert subscriber.prices_count() == 0, "the replay started before the second stream opened"

    # The second stream starts the replay.
    bystander = collectors(grpc_channels(server.target), name="bystander", deadline_s=120).start()
    assert bystander.wait_count(harness.FIXTURE_TRADE_COUNT, 90), bystander.describe_end()
    server.log.wait_for(REPLAY_FINISHED_RE, 30)
    wait_final_values(subscriber, reference, keys)

    assert not subscriber.collector.finished, subscriber.collector.describe_end()
    assert subscriber.prices_count() == harness.FIXTURE_TRADE_COUNT
    assert bystander.non_prices() == [], f"bystander got non-price responses: {bystander.non_prices()[:3]}"
    subscriber.assert_one_status_per_request()
    check_batch_shape(subscriber, keys)
    compared = assert_values_match(subscriber, reference)
    missing = keys - set(compared)
    assert not missing, f"no update at all for {sorted(missing)}"
    if speed != "max":
        # A paced replay lasts ~8.6 s: dozens of batches, each compared.
        assert len(subscriber.batches()) >= 20, f"only {len(subscriber.batches())} batches"


# --------------------------------------------------------------------------
# (2) Late subscriber: SMA exact at once, EMA/RSI after 40 * period trades
# --------------------------------------------------------------------------

LATE_HISTORY = 300
LATE_SUBSCRIPTIONS = [("SMA", 14), ("SMA", LATE_HISTORY), ("EMA", 14), ("EMA", 30),
                      ("RSI", 14), ("RSI", 30)]


def test_late_subscriber_sma_exact_ema_rsi_converge(start_server, grpc_channels, collectors, reference):
    # A history ring shorter than what has been traded at subscription time, so
    # that EMA and RSI really start from a ring that has wrapped.
    server = indicator_server(start_server, "20", wait_streams=1,
                              extra=["--history", str(LATE_HISTORY), "--max-period", str(LATE_HISTORY)])
    stream = IndicatorStream(grpc_channels, collectors, server.target, "late")
    wanted = LATE_HISTORY + 100
    assert harness.wait_until(lambda: min(stream.seen_per_symbol().values()) >= wanted, 60), (
        f"fewer than {wanted} trades per symbol: {stream.seen_per_symbol()}; "
        f"{stream.collector.describe_end()}")

    seen_at_subscribe = stream.seen_per_symbol()
    subscribed_at = time.monotonic()
    keys = {(s, k, p) for s in SYMBOLS for k, p in LATE_SUBSCRIPTIONS}
    request_ids = [stream.subscribe(s, k, p) for s, k, p in sorted(keys)]
    for request_id in request_ids:
        stream.expect_status(request_id, OK)

    # SMA values come from the history at once: the first batch after subscribing
    # holds them (the history holds >= period prices of each symbol).
    sma_keys = {k for k in keys if k[1] == "SMA"}
    def first_sma_batch_arrived() -> bool:
        return sma_keys <= {key_of(u) for _, u in stream.updates()}
    assert harness.wait_until(first_sma_batch_arrived, 3.0), (
        f"no value within 3s of subscribing for some SMA: "
        f"{sorted(sma_keys - {key_of(u) for _, u in stream.updates()})}")
    first_batch = stream.batches()[0]
    assert first_batch.recv_mono - subscribed_at < 3.0

    server.log.wait_for(REPLAY_FINISHED_RE, 60)
    wait_final_values(stream, reference, keys)
    stream.assert_one_status_per_request()
    check_batch_shape(stream, keys)

    # The client had seen `seen_at_subscribe[s]` trades of s when it subscribed;
    # the server had applied at least as many, so this bound is conservative.
    min_index = {}
    for symbol, kind, period in keys:
        if kind != "SMA":
            min_index[(symbol, kind, period)] = seen_at_subscribe[symbol] + CONVERGENCE_PERIODS * period
    compared = assert_values_match(stream, reference, min_index)
    for key in keys:
        assert compared.get(key, 0) >= 3, (
            f"{key}: only {compared.get(key, 0)} updates compared (from trade index "
            f"{min_index.get(key, 0)} on); the test no longer checks convergence")
    # Every SMA update, the warmed first one included, was compared.
    for key in sma_keys:
        assert compared[key] == sum(1 for _, u in stream.updates() if key_of(u) == key)


# --------------------------------------------------------------------------
# (3) Bad requests: the right codes, and prices keep flowing
# --------------------------------------------------------------------------

def assert_prices_keep_flowing(stream: IndicatorStream, more: int = 20, timeout_s: float = 15.0) -> None:
    before = stream.prices_count()
    assert harness.wait_until(lambda: stream.prices_count() >= before + more, timeout_s), (
        f"{stream.name}: prices stopped after the requests: {before} -> {stream.prices_count()}; "
        f"{stream.collector.describe_end()}")
    assert not stream.collector.finished, stream.collector.describe_end()


def test_bad_requests_get_their_codes_and_the_stream_goes_on(start_server, grpc_channels, collectors):
    max_period = 500
    server = indicator_server(start_server, "5", wait_streams=1, extra=["--max-period", str(max_period)])
    stream = IndicatorStream(grpc_channels, collectors, server.target, "bad")
    assert harness.wait_until(lambda: stream.prices_count() >= 5, 20), stream.collector.describe_end()

    cases = [
        (stream.subscribe("btcusdt", pb().INDICATOR_TYPE_UNSPECIFIED, 14), INVALID_ARGUMENT),
        (stream.subscribe("btcusdt", "SMA", 1), INVALID_ARGUMENT),
        (stream.subscribe("btcusdt", "EMA", 0), INVALID_ARGUMENT),
        (stream.subscribe("btcusdt", "RSI", max_period + 1), INVALID_ARGUMENT),
        (stream.subscribe("btcusdt", "SMA", 2**32 - 1), INVALID_ARGUMENT),
        (stream.subscribe("dogeusdt", "SMA", 14), NOT_FOUND),
        (stream.subscribe("BtcUsdt", "SMA", max_period), OK),      # the longest period allowed
        (stream.subscribe("btcusdt", "SMA", 2), OK),               # the shortest
        (stream.subscribe("BTCUSDT", "SMA", 2), OK),               # twice: idempotent
        (stream.unsubscribe("ethusdt", "RSI", 14), OK),            # never subscribed
        (stream.subscribe("ethusdt", "RSI", 14), OK),
    ]
    for request_id, code in cases:
        stream.expect_status(request_id, code)
    stream.assert_one_status_per_request()
    assert_prices_keep_flowing(stream)

    # Only the OK subscriptions produce updates, under upper-case symbols; the
    # doubled SMA(2) is one subscription.
    subscribed = {("BTCUSDT", "SMA", max_period), ("BTCUSDT", "SMA", 2), ("ETHUSDT", "RSI", 14)}
    assert harness.wait_until(lambda: subscribed <= {key_of(u) for _, u in stream.updates()}, 30), (
        f"missing updates for {sorted(subscribed - {key_of(u) for _, u in stream.updates()})}")
    check_batch_shape(stream, subscribed)


def test_max_subscriptions_per_stream(start_server, grpc_channels, collectors):
    server = indicator_server(start_server, "5", wait_streams=1,
                              extra=["--max-subscriptions-per-stream", "3"])
    stream = IndicatorStream(grpc_channels, collectors, server.target, "limit")
    other = IndicatorStream(grpc_channels, collectors, server.target, "other")
    assert harness.wait_until(lambda: stream.prices_count() >= 5, 20), stream.collector.describe_end()

    for period in (2, 3, 4):
        stream.expect_status(stream.subscribe("btcusdt", "SMA", period), OK)
    stream.expect_status(stream.subscribe("btcusdt", "SMA", 5), RESOURCE_EXHAUSTED)
    stream.expect_status(stream.subscribe("ethusdt", "EMA", 5), RESOURCE_EXHAUSTED)
    # Already subscribed: idempotent, so still OK at the limit.
    stream.expect_status(stream.subscribe("BTCUSDT", "SMA", 3), OK)
    # The limit is per stream: another stream holds its own three, among them
    # the SMA(5) refused above.
    for period in (2, 3, 5):
        other.expect_status(other.subscribe("btcusdt", "SMA", period), OK)
    other.expect_status(other.subscribe("btcusdt", "SMA", 6), RESOURCE_EXHAUSTED)
    # Leaving one makes room for one.
    stream.expect_status(stream.unsubscribe("btcusdt", "SMA", 2), OK)
    stream.expect_status(stream.subscribe("ethusdt", "EMA", 5), OK)
    stream.expect_status(stream.subscribe("ethusdt", "EMA", 6), RESOURCE_EXHAUSTED)
    stream.assert_one_status_per_request()
    other.assert_one_status_per_request()
    assert_prices_keep_flowing(stream)


def test_indicator_pool_exhaustion(start_server, grpc_channels, collectors):
    """--max-indicators bounds distinct (symbol, type, period) states; streams
    asking for the same one share it."""
    server = indicator_server(start_server, "5", wait_streams=1, extra=["--max-indicators", "2"])
    a = IndicatorStream(grpc_channels, collectors, server.target, "pool-a")
    b = IndicatorStream(grpc_channels, collectors, server.target, "pool-b")
    assert harness.wait_until(lambda: a.prices_count() >= 5, 20), a.collector.describe_end()

    a.expect_status(a.subscribe("btcusdt", "SMA", 14), OK)
    a.expect_status(a.subscribe("btcusdt", "EMA", 14), OK)
    a.expect_status(a.subscribe("btcusdt", "RSI", 14), RESOURCE_EXHAUSTED)
    b.expect_status(b.subscribe("ethusdt", "SMA", 14), RESOURCE_EXHAUSTED)
    b.expect_status(b.subscribe("BTCUSDT", "SMA", 14), OK)          # shares a's state
    a.expect_status(a.unsubscribe("btcusdt", "EMA", 14), OK)         # frees a state
    b.expect_status(b.subscribe("ethusdt", "SMA", 14), OK)
    a.expect_status(a.subscribe("btcusdt", "RSI", 14), RESOURCE_EXHAUSTED)
    a.assert_one_status_per_request()
    b.assert_one_status_per_request()
    assert_prices_keep_flowing(a)
    assert_prices_keep_flowing(b)


@pytest.mark.parametrize("payload", [
    b"\x12\x05ab",          # symbol (field 2): length 5, 2 bytes follow
    b"\xff",                # a tag varint cut short
    b"\x08\x80\x80\x80",    # action (field 1): varint cut short
])
def test_request_that_is_not_protobuf_fails_the_stream(start_server, grpc_channels, collectors, payload):
    server = indicator_server(start_server, "5", wait_streams=0)
    chan = grpc_channels(server.target)
    release = threading.Event()
    bad = collectors(chan, name="not-protobuf", deadline_s=30, raw_requests=True,
                     requests=harness.held_open_requests(release, 20.0, first=[payload])).start()
    assert harness.wait_until(lambda: bad.finished, 10), (
        f"stream still open 10s after an invalid request; got {bad.count()} responses")
    release.set()
    assert bad.error is not None and bad.error.code() == grpc.StatusCode.INVALID_ARGUMENT, (
        f"want INVALID_ARGUMENT, {bad.describe_end()}")
    # The server and the connection's other streams are unaffected.
    assert server.alive(), server.log.tail()
    fresh = IndicatorStream(grpc_channels, collectors, server.target, "after")
    fresh.expect_status(fresh.subscribe("btcusdt", "SMA", 2), OK)
    assert_prices_keep_flowing(fresh, more=3)


# --------------------------------------------------------------------------
# (4) Unsubscribe stops that indicator's updates
# --------------------------------------------------------------------------

def test_unsubscribe_stops_updates(start_server, grpc_channels, collectors, reference):
    server = indicator_server(start_server, "20", wait_streams=1)
    stream = IndicatorStream(grpc_channels, collectors, server.target, "unsub")
    gone, kept = ("BTCUSDT", "SMA", 2), ("ETHUSDT", "SMA", 2)
    for symbol, kind, period in (gone, kept):
        stream.expect_status(stream.subscribe(symbol, kind, period), OK)

    def batches_with(key) -> int:
        return sum(1 for item in stream.batches()
                   if key in {key_of(u) for u in item.response.indicators.updates})

    assert harness.wait_until(lambda: batches_with(gone) >= 5 and batches_with(kept) >= 5, 30), (
        f"too few batches: {batches_with(gone)} with {gone}, {batches_with(kept)} with {kept}")

    request_id = stream.unsubscribe(*gone)
    stream.expect_status(request_id, OK)
    status_position = next(i for i, item in enumerate(stream.all_items())
                           if item.response.WhichOneof("payload") == "status"
                           and item.response.status.request_id == request_id)
    time.sleep(2.0)  # ~20 intervals of 100 ms
    later = [item for item in stream.all_items()[status_position + 1:]
             if item.response.WhichOneof("payload") == "indicators"]
    carrying = [n for n, item in enumerate(later)
                if gone in {key_of(u) for u in item.response.indicators.updates}]
    # One batch may already have been on its way when the unsubscribe was applied.
    assert carrying in ([], [0]), (
        f"{gone} still in batches {carrying} of the {len(later)} that followed its unsubscribe status")
    still = sum(1 for item in later if kept in {key_of(u) for u in item.response.indicators.updates})
    assert still >= 5, f"{kept} stopped too: in only {still} of {len(later)} later batches"

    # Subscribing again brings it back, warmed from the history at once.
    stream.expect_status(stream.subscribe(*gone), OK)
    back_from = len(stream.batches())
    assert harness.wait_until(
        lambda: any(key_of(u) == gone for item in stream.batches()[back_from:]
                    for u in item.response.indicators.updates), 3.0), f"{gone} did not come back"
    stream.assert_one_status_per_request()
    assert_values_match(stream, reference)


# --------------------------------------------------------------------------
# (5) At most one batch per interval per stream
# --------------------------------------------------------------------------

def test_at_most_one_batch_per_interval(start_server, grpc_channels, collectors):
    interval_s = 0.25
    server = indicator_server(start_server, "10", wait_streams=1,
                              extra=["--indicator-interval", f"{int(interval_s * 1000)}ms"])
    streams = [IndicatorStream(grpc_channels, collectors, server.target, f"pace-{n}") for n in range(2)]
    for stream in streams:
        for symbol in SYMBOLS:
            for kind in KINDS:
                stream.expect_status(stream.subscribe(symbol, kind, 2), OK)
    watch_s = 5.0
    time.sleep(watch_s)
    for stream in streams:
        arrivals = [item.recv_mono for item in stream.batches()]
        assert len(arrivals) >= 0.3 * watch_s / interval_s, (
            f"{stream.name}: only {len(arrivals)} batches in ~{watch_s}s at {interval_s}s intervals "
            f"while trades flow every ~0.1s")
        gaps = np.diff(arrivals)
        # Arrival times carry the client's scheduling noise: one batch read
        # late arrives close to the next one. Two batches sent within one
        # interval also arrive close, but then the batch before them is
        # barely more than one interval earlier, where a late read leaves it
        # about two intervals earlier. So a close pair fails only when the
        # three arrivals around it span less than 1.5 intervals.
        close = [(i, round(float(g), 4)) for i, g in enumerate(gaps) if g < 0.6 * interval_s]
        bunched = [(i, gap) for i, gap in close if i == 0 or arrivals[i + 1] - arrivals[i - 1] < 1.5 * interval_s]
        assert not bunched, (f"{stream.name}: two batches within one {interval_s}s interval "
                             f"(batch index, gap s): {bunched[:10]}; all close arrivals: {close[:10]}")
        span = arrivals[-1] - arrivals[0]
        assert len(arrivals) <= span / interval_s + 2, (
            f"{stream.name}: {len(arrivals)} batches over {span:.2f}s at {interval_s}s intervals")
        check_batch_shape(stream, {(s, k, 2) for s in SYMBOLS for k in KINDS})
