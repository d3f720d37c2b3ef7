"""Candles over the real server (issue 18): candle subscriptions and
indicators on candle closes, against real data.

- Trades made by klines_to_trades.py from one real day of Binance.US BTCUSDT
  1m candles (2023-03-10) are replayed: the 1m candles the server sends equal
  the real ones field by field (OHLC exact, volume within 1e-9, four trades per
  candle with volume); 5m, 15m and 1h equal their aggregation.
- RSI(14), SMA(20) and EMA(20) on 1m closes equal TA-Lib on the real closes
  at every close (1e-9 relative); every provisional (forming) value equals
  TA-Lib with the forming candle's last price appended.
- 1s candles of the real 2024-08-08 trades equal a plain Python grouping.
- A late joiner's first candles and values equal what a client connected from
  the start saw for the same candle and trade.

Under --replay candles close on the newest trade's time, so the day's last
candle stays forming when the recording ends.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import time

import numpy as np
import pytest
import talib

import harness

FIXTURES = harness.FIXTURES_DIR
DAY_CSV = FIXTURES / "binanceus-BTCUSDT-1m-2023-03-10.csv"
DAY_TRADES = FIXTURES / "trades-btcusdt-2023-03-10-from-klines.jsonl"
REL_TOL = 1e-9
MINUTE_MS = 60_000
# 5,756 trades at 250/s: about 23 s, a minute closing every ~16 ms, with
# batches every 2 ms so that every close's value goes out in its own batch.
REPLAY_RATE = "250"
INDICATOR_INTERVAL = "2ms"
WAIT_S = 90.0
PERIODS = {"RSI": 14, "SMA": 20, "EMA": 20}


def pb():
    return harness.stubs()[0]


def interval_enum(name: str) -> int:
    return pb().CandleInterval.Value(f"CANDLE_INTERVAL_{name.upper()}")


def request(symbol="BTCUSDT", interval="1m", candles=True, forming=False, kind=None, period=0, rid=""):
    message = pb().IndicatorRequest(symbol=symbol, interval=interval_enum(interval), candles=candles,
                                    forming=forming, period=period, request_id=rid or f"{interval}-{kind}")
    if kind is not None:
        message.type = pb().IndicatorType.Value(f"INDICATOR_TYPE_{kind}")
    return message


def real_day() -> list[dict]:
    rows = []
    with DAY_CSV.open() as f:
        for row in csv.DictReader(f):
            open_ms = int(dt.datetime.fromisoformat(row["open_time"]).timestamp() * 1000)
            rows.append({"open_time_ms": open_ms, **{k: float(row[k]) for k in ("open", "high", "low", "close", "volume")}})
    return rows


def close_to(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def candles_of(items, symbol, interval, closed=True):
    out = []
    for item in items:
        response = item.response if hasattr(item, "response") else item
        if response.WhichOneof("payload") != "candles":
            continue
        out += [c for c in response.candles.candles
                if c.symbol == symbol and c.interval == interval_enum(interval) and c.closed == closed]
    return out


def updates_of(items, kind=None, forming=None):
    out = []
    for item in items:
        response = item.response if hasattr(item, "response") else item
        if response.WhichOneof("payload") != "indicators":
            continue
        for update in response.indicators.updates:
            if update.interval == 0:
                continue
            if kind is not None and pb().IndicatorType.Name(update.type) != f"INDICATOR_TYPE_{kind}":
                continue
            if forming is not None and update.forming != forming:
                continue
            out.append(update)
    return out


def statuses(collector):
    return [r.status for r in collector.non_prices() if r.WhichOneof("payload") == "status"]


def wait_statuses(collector, n, timeout_s=10.0):
    assert harness.wait_until(lambda: len(statuses(collector)) >= n, timeout_s), collector.describe_end()
    got = statuses(collector)
    assert all(s.code == 0 for s in got), [(s.request_id, s.code, s.message) for s in got]


@pytest.fixture(scope="module")
def day_run(tmp_path_factory):
    """One replay of the day: `main` subscribed before the first trade; `late`
    subscribed once about a third of the trades had gone."""
    tmp = tmp_path_factory.mktemp("candles")
    # --replay-rate and --replay-speed are exclusive, so the replay flags are given here.
    argv = harness.server_argv(None, symbols="btcusdt",
                               extra=["--replay", str(DAY_TRADES), "--replay-rate", REPLAY_RATE,
                                      "--replay-wait-streams", "2", "--indicator-interval", INDICATOR_INTERVAL])
    server = harness.TickwireServer(argv, harness.server_env(), tmp / "tickwire.stderr.log", None)
    try:
        server.wait_listening()
        chan = harness.channel(server.target)
        subscriptions = [request(interval=i) for i in ("1m", "5m", "15m", "1h")]
        subscriptions += [request(interval="1m", candles=False, forming=True, kind=k, period=p) for k, p in PERIODS.items()]
        main = harness.StreamCollector(chan, "main", harness.held_open_requests(threading_event(), WAIT_S, subscriptions),
                                       deadline_s=WAIT_S + 30).start()
        wait_statuses(main, len(subscriptions))
        trigger = harness.StreamCollector(harness.channel(server.target), "trigger", deadline_s=WAIT_S + 30).start()
        assert harness.wait_until(lambda: len(trigger.prices()) >= 1_900, 40.0), "replay did not start"
        late_requests = [request(interval="1m", forming=True, rid="late-candles"),
                         request(interval="1m", candles=False, forming=True, kind="RSI", period=14, rid="late-rsi")]
        late = harness.StreamCollector(harness.channel(server.target), "late",
                                       harness.held_open_requests(threading_event(), WAIT_S, late_requests),
                                       deadline_s=WAIT_S + 30).start()
        wait_statuses(late, 2)
        server.log.wait_for(harness.REPLAY_FINISHED_RE, WAIT_S)
        time.sleep(0.5)  # the last batches
        yield {"main": main.items[:], "late": late.items[:], "server": server}
        for collector in (main, trigger, late):
            collector.cancel()
    finally:
        server.stop()
        server.kill()


def threading_event():
    import threading
    return threading.Event()


def test_minute_candles_equal_the_real_ones_field_by_field(day_run):
    real = real_day()
    got = candles_of(day_run["main"], "BTCUSDT", "1m")
    # The replay clock is the newest trade: the day's last minute is still forming.
    assert len(got) == len(real) - 1 == 1_439
    for candle, row in zip(got, real):
        where = dt.datetime.fromtimestamp(row["open_time_ms"] / 1000, dt.timezone.utc).isoformat()
        assert candle.open_time_ms == row["open_time_ms"], where
        assert candle.close_time_ms == row["open_time_ms"] + MINUTE_MS - 1, where
        assert (candle.open, candle.high, candle.low, candle.close) == (row["open"], row["high"], row["low"], row["close"]), where
        assert close_to(candle.volume, row["volume"]), where
        assert candle.trade_count == (4 if row["volume"] > 0 else 0), where
    # The one minute without trades looks as Binance shows it: flat at the previous close.
    empty = [c for c in got if c.trade_count == 0]
    assert len(empty) == 1 and empty[0].first_trade_id == -1 and empty[0].volume == 0


@pytest.mark.parametrize("interval,minutes", [("5m", 5), ("15m", 15), ("1h", 60)])
def test_longer_candles_equal_the_aggregation_of_the_real_minutes(day_run, interval, minutes):
    real = real_day()
    got = candles_of(day_run["main"], "BTCUSDT", interval)
    assert len(got) == 1_440 // minutes - 1
    for index, candle in enumerate(got):
        group = real[index * minutes:(index + 1) * minutes]
        assert candle.open_time_ms == group[0]["open_time_ms"]
        assert candle.open == group[0]["open"] and candle.close == group[-1]["close"]
        assert candle.high == max(r["high"] for r in group) and candle.low == min(r["low"] for r in group)
        assert close_to(candle.volume, sum(r["volume"] for r in group))
        assert candle.close_time_ms == candle.open_time_ms + minutes * MINUTE_MS - 1
        assert candle.trade_count == sum(4 if r["volume"] > 0 else 0 for r in group)


def reference(kind: str, closes: np.ndarray) -> np.ndarray:
    function = {"RSI": talib.RSI, "SMA": talib.SMA, "EMA": talib.EMA}[kind]
    return function(closes, timeperiod=PERIODS[kind])


@pytest.mark.parametrize("kind", list(PERIODS))
def test_values_on_minute_closes_equal_talib_at_every_close(day_run, kind):
    closes = np.array([r["close"] for r in real_day()], dtype=np.float64)
    want = reference(kind, closes)
    t0 = real_day()[0]["open_time_ms"]
    seen = {}
    for update in updates_of(day_run["main"], kind, forming=False):
        index = (update.trade_time_ms + 1 - t0) // MINUTE_MS - 1
        assert close_to(update.value, want[index]), (kind, index, update.value, want[index])
        seen[index] = update.value
    first = PERIODS[kind] if kind == "RSI" else PERIODS[kind] - 1
    missing = [i for i in range(first, 1_439) if i not in seen]
    assert not missing, f"{len(missing)} closes without a value, first {missing[:5]}"


@pytest.mark.parametrize("kind", list(PERIODS))
def test_forming_values_equal_talib_with_the_forming_price_appended(day_run, kind):
    closes = [r["close"] for r in real_day()]
    t0 = real_day()[0]["open_time_ms"]
    price_of = {t.trade_id: t.price for t in harness.trades_in(DAY_TRADES.open())}
    forming = updates_of(day_run["main"], kind, forming=True)
    # Batches every 2 ms and a trade every 4 ms: nearly every trade's provisional
    # value goes out (a value that stopped following the forming price would not).
    priced = {u.trade_id for u in forming if u.trade_id != -1}
    assert len(priced) > 0.5 * len(price_of), (len(priced), len(price_of))
    for update in forming:
        index = (update.trade_time_ms + 1 - t0) // MINUTE_MS - 1  # the forming minute
        # A forming minute without a trade yet is flat at the previous close (trade id -1).
        last_price = closes[index - 1] if update.trade_id == -1 else price_of[update.trade_id]
        series = np.array(closes[:index] + [last_price], dtype=np.float64)
        want = reference(kind, series)[-1]
        assert close_to(update.value, want), (kind, index, update.value, want)


def test_a_late_joiner_starts_where_a_client_from_the_start_stands(day_run):
    late, main = day_run["late"], day_run["main"]
    first_batch = next(i.response for i in late if i.response.WhichOneof("payload") == "candles")
    last_closed, forming = first_batch.candles.candles
    assert last_closed.closed and not forming.closed
    assert forming.open_time_ms == last_closed.open_time_ms + MINUTE_MS
    from_start = {c.open_time_ms: c for c in candles_of(main, "BTCUSDT", "1m")}
    assert last_closed == from_start[last_closed.open_time_ms]
    # The forming candle is what a client from the start would hold at that
    # trade: the day's trades of its minute up to its last trade id, grouped
    # here without the server (a minute without a trade yet is flat at the
    # previous close, ids -1).
    trades = harness.trades_in(DAY_TRADES.open())
    so_far = [t for t in trades if forming.open_time_ms <= t.trade_time_ms < forming.open_time_ms + MINUTE_MS
              and t.trade_id <= forming.last_trade_id]
    if forming.last_trade_id == -1:
        assert not so_far or so_far[0].trade_id > forming.last_trade_id
        assert (forming.open, forming.close, forming.volume) == (last_closed.close, last_closed.close, 0)
    else:
        assert so_far, forming
        assert (forming.first_trade_id, forming.trade_count) == (so_far[0].trade_id, len(so_far))
        assert (forming.open, forming.high, forming.low, forming.close) == (
            so_far[0].price, max(t.price for t in so_far), min(t.price for t in so_far), so_far[-1].price)
        assert close_to(forming.volume, sum(t.quantity for t in so_far))
    # Its values: the same as the from-start client got for the same close.
    late_values = updates_of(late, "RSI", forming=False)
    main_values = {u.trade_time_ms: u.value for u in updates_of(main, "RSI", forming=False)}
    assert late_values and late_values[0].value == main_values[late_values[0].trade_time_ms]
    # The first value is at the newest close when the RSI request was taken. The
    # replay is fast, so a minute may close between the two requests; the closed
    # candles the stream carried before the RSI status say which close that was.
    rsi_status_at = next(n for n, i in enumerate(late) if i.response.WhichOneof("payload") == "status"
                         and i.response.status.request_id == "late-rsi")
    newest_close = max(c.close_time_ms for c in candles_of(late[:rsi_status_at], "BTCUSDT", "1m"))
    assert late_values[0].trade_time_ms == newest_close
    # The provisional value came at once too, and is the one a client from the
    # start gets at that trade: TA-Lib over the closes with its price appended.
    provisional = updates_of(late, "RSI", forming=True)
    assert provisional, "no provisional value"
    first = provisional[0]
    closes = [r["close"] for r in real_day()]
    index = (first.trade_time_ms + 1 - real_day()[0]["open_time_ms"]) // MINUTE_MS - 1
    price = closes[index - 1] if first.trade_id == -1 else {t.trade_id: t.price for t in trades}[first.trade_id]
    assert close_to(first.value, reference("RSI", np.array(closes[:index] + [price], dtype=np.float64))[-1])


def seconds_reference(trades, symbol, end_second):
    """Independent of the server: bucket by T // 1000, flat seconds at the previous close."""
    mine = [t for t in trades if t.symbol == symbol]
    buckets: dict[int, list] = {}
    for t in mine:
        buckets.setdefault(t.trade_time_ms // 1000, []).append(t)
    out, previous = [], None
    for second in range(min(buckets), end_second):
        group = buckets.get(second)
        if group:
            out.append(dict(open_time_ms=second * 1000, open=group[0].price, high=max(t.price for t in group),
                            low=min(t.price for t in group), close=group[-1].price,
                            volume=sum(t.quantity for t in group), count=len(group),
                            first=group[0].trade_id, last=group[-1].trade_id))
            previous = group[-1].price
        else:
            out.append(dict(open_time_ms=second * 1000, open=previous, high=previous, low=previous, close=previous,
                            volume=0.0, count=0, first=-1, last=-1))
    return out


def test_second_candles_of_real_trades_equal_a_plain_grouping(start_server):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=2)
    chan = harness.channel(server.target)
    subscriptions = [request(symbol=s, interval="1s", rid=s) for s in ("BTCUSDT", "ETHUSDT")]
    main = harness.StreamCollector(chan, "1s", harness.held_open_requests(threading_event(), 60, subscriptions),
                                   deadline_s=90).start()
    wait_statuses(main, 2)
    trigger = harness.StreamCollector(harness.channel(server.target), "trigger", deadline_s=90).start()
    server.log.wait_for(harness.REPLAY_FINISHED_RE, 60)
    trades = harness.fixture_trades()
    newest = max(t.trade_time_ms for t in trades)
    # Closed: every second before the symbol's own last trade (a trade closes
    # what ended before it), and on the replay clock every second whose end
    # plus the 300 ms grace the newest trade of any symbol passed.
    def end_second(symbol):
        last = max(t.trade_time_ms for t in trades if t.symbol == symbol)
        return max(last // 1000, (newest - 300) // 1000)
    wants = {s: seconds_reference(trades, s, end_second(s)) for s in ("BTCUSDT", "ETHUSDT")}
    # At max speed the stream is behind the replay; its candles follow its prices.
    harness.wait_until(lambda: all(len(candles_of(main.items[:], s, "1s")) >= len(w) for s, w in wants.items()), 30)
    items = main.items[:]
    for symbol, want in wants.items():
        got = candles_of(items, symbol, "1s")
        assert len(got) == len(want) > 300
        for candle, ref in zip(got, want):
            assert candle.open_time_ms == ref["open_time_ms"]
            assert (candle.open, candle.high, candle.low, candle.close) == (ref["open"], ref["high"], ref["low"], ref["close"])
            assert candle.trade_count == ref["count"]
            assert (candle.first_trade_id, candle.last_trade_id) == (ref["first"], ref["last"])
            assert close_to(candle.volume, ref["volume"]) or ref["volume"] == 0 == candle.volume
    for collector in (main, trigger):
        collector.cancel()


def test_candle_memory_and_subscriptions_are_in_metrics(start_server):
    from test_metrics import scrape
    server = start_server(replay=harness.TRADES_FIXTURE, speed="1", extra=["--max-candle-history", "500"])
    server.wait_metrics_listening()
    chan = harness.channel(server.target)
    stream = harness.StreamCollector(chan, "m", harness.held_open_requests(
        threading_event(), 30, [request(interval="1s"), request(interval="1m", candles=False, kind="RSI", period=14)]),
        deadline_s=40).start()
    wait_statuses(stream, 2)
    metrics = scrape(server)
    # 2 symbols x 13 intervals x 500 candles, about 120 bytes each plus its close.
    memory = metrics.value("tickwire_candle_memory_bytes")
    assert 2 * 13 * 500 * 120 <= memory <= 2 * 13 * 500 * 160 + 100_000, memory
    assert metrics.value("tickwire_candle_subscriptions") == 2
    assert metrics.types.get("tickwire_candle_late_trades_total") == "counter"
    stream.cancel()
