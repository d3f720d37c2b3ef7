"""Candles warm from Binance's klines (issue 18, item 4, live), over the real
binary against fake_binance.py's WebSocket API:

- A 1h RSI(14) subscribed within the first second after startup gets a value
  in its first batch, equal to TA-Lib's RSI over the 20 hourly closes the
  fake's `klines` answered: with --warm-intervals 1h (fetched at startup), and
  without it (fetched when the series is first subscribed).
- A history that disagrees with the candles built from trades (the fake's
  1s klines with every volume 1% higher) is refused, logged with the field that
  disagreed, and counted in tickwire_candle_histories_refused_total.

The recording is shifted so that its first trade falls one second into the
current UTC hour: the fake's hourly klines before it are the market's past,
and every trade belongs to the forming hour. Every wait is bounded in time.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time

import numpy as np
import pytest
import talib

import fake_binance
import harness
from test_candles import interval_enum, pb, request
from test_metrics import scrape

HOUR_MS = 3_600_000
HISTORY_TRADES = 2000
RECORDED_TRADES_PER_S = harness.FIXTURE_TRADE_COUNT / 346.0
PRIOR_HOURS = 20
REL_TOL = 1e-9
WAIT_S = 15.0
JOINED_RE = re.compile(r"\bkline history joined\"?\s*$")
REFUSED_RE = re.compile(r"\bkline history refused: it does not agree with the candles built from trades\"?\s*$")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> fake_binance.TestPKI:
    return fake_binance.make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def fakes():
    with fake_binance.started_fakes(100.0) as make:
        yield make


def hour_start_ms() -> int:
    """The current UTC hour, waiting out its last 20 s (bounded) so that a
    test never straddles two hours."""
    now = time.time_ns() // 1_000_000
    if HOUR_MS - now % HOUR_MS < 20_000:
        time.sleep((HOUR_MS - now % HOUR_MS) / 1000 + 0.5)
        now = time.time_ns() // 1_000_000
    return now - now % HOUR_MS


def rebased_frames(at_ms: int, limit: int, anchor: int = 0) -> list[fake_binance.Frame]:
    """The recording's first `limit` frames, moved so that frame `anchor` is at `at_ms`."""
    with harness.TRADES_FIXTURE.open() as f:
        lines = [line for line, _ in zip(f, range(limit))]
    shift = at_ms - json.loads(lines[anchor])["data"]["T"]
    out = []
    for line in lines:
        envelope = json.loads(line)
        envelope["data"]["T"] += shift
        envelope["data"]["E"] += shift
        out.append(fake_binance.frame_from_line(json.dumps(envelope, separators=(",", ":"))))
    return out


def prior_hours(hour_ms: int, base_price: float) -> tuple[list[list], np.ndarray]:
    """PRIOR_HOURS hourly klines ending just before `hour_ms`, in Binance's
    row shape, and their closes."""
    rows, closes = [], []
    price = base_price
    for k in range(PRIOR_HOURS):
        open_ms = hour_ms - (PRIOR_HOURS - k) * HOUR_MS
        close = base_price * (1 + 0.01 * math.sin(k * 0.9) + 0.002 * k)
        high, low = max(price, close) * 1.001, min(price, close) * 0.999
        rows.append([open_ms, f"{price:.8f}", f"{high:.8f}", f"{low:.8f}", f"{close:.8f}", "1.50000000",
                     open_ms + HOUR_MS - 1, f"{1.5 * close:.8f}", 100, "0.70000000", f"{0.7 * close:.8f}", "0"])
        closes.append(float(f"{close:.8f}"))
        price = close
    return rows, np.array(closes)


def first_price(frames, symbol: str) -> float:
    return next(float(json.loads(f.text)["data"]["p"]) for f in frames if f.symbol == symbol)


def start(start_server, fakes, pki, frames, extra=(), rate: float = 100.0):
    fake = fakes(frames, pki.server, rate=rate)
    fake.skip(HISTORY_TRADES)
    return fake, (lambda: start_server(argv=harness.live_feed_argv(
        fake.url(), ca_file=pki.ca.cert, api_url=fake.api_url(), extra=list(extra))))


def first_rsi_batch(collector, deadline_s: float):
    """The 1h RSI(14) value on closes in the stream's first IndicatorBatch:
    None if no batch came by the deadline, or if the first one lacks it."""
    hour = interval_enum("1h")
    rsi = pb().IndicatorType.Value("INDICATOR_TYPE_RSI")
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:  # bounded by the deadline
        batches = [r for r in collector.non_prices() if r.WhichOneof("payload") == "indicators"]
        if batches:
            return next((u for u in batches[0].indicators.updates
                         if u.interval == hour and u.type == rsi and not u.forming), None)
        time.sleep(0.02)
    return None


@pytest.mark.parametrize("warm", [True, False], ids=["warm-intervals", "first-subscription"])
def test_hourly_rsi_subscribed_in_the_first_second_has_a_value_in_its_first_batch(start_server, fakes, pki, warm):
    hour_ms = hour_start_ms()
    frames = rebased_frames(hour_ms + 1000, HISTORY_TRADES + 500)
    fake, launch = start(start_server, fakes, pki, frames, ["--warm-intervals", "1h"] if warm else [])
    expected = {}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        rows, closes = prior_hours(hour_ms, first_price(frames, symbol))
        fake.api.prior_klines[(symbol, "1h")] = rows
        expected[symbol] = talib.RSI(closes, timeperiod=14)[-1]
    server = launch()
    listening_at = time.monotonic()
    release = threading.Event()
    collector = harness.StreamCollector(harness.channel(server.target), "rsi", harness.held_open_requests(
        release, 30, [request(symbol="BTCUSDT", interval="1h", candles=False, kind="RSI", period=14, rid="rsi-1h")]),
        deadline_s=40).start()
    try:
        update = first_rsi_batch(collector, WAIT_S)
        assert update is not None, f"no 1h RSI value in {WAIT_S}s:\n{server.log.tail(30)}"
        # The subscription went out with the stream: its status is the first response.
        subscribed_s = collector.items[0].recv_mono - listening_at
        joined = server.log.matching(JOINED_RE)
        print(f"\n[{'warm' if warm else 'on demand'}] 1h RSI(14) {update.value:.9f}, TA-Lib {expected['BTCUSDT']:.9f}; "
              f"status {subscribed_s:.2f} s after listening; "
              f"joined: {[harness.metadata_str(j, 'symbol') + '/' + harness.metadata_str(j, 'interval') for j in joined]}")
        assert subscribed_s < 1.0, f"subscribed {subscribed_s:.2f} s after listening, not in the first second"
        assert math.isclose(update.value, expected["BTCUSDT"], rel_tol=REL_TOL), (update.value, expected["BTCUSDT"])
        assert any(harness.metadata_str(j, "symbol") == "BTCUSDT" and harness.metadata_str(j, "interval") == "1h"
                   and harness.metadata_int(j, "added") == PRIOR_HOURS for j in joined), joined
        assert not server.log.matching(REFUSED_RE), server.log.matching(REFUSED_RE)
        requests = [r for r in fake.api.requests() if r.method == "klines"]
        if warm:
            assert {(r.symbol, r.interval) for r in requests} == {("BTCUSDT", "1h"), ("ETHUSDT", "1h")}, requests
        else:
            assert [(r.symbol, r.interval) for r in requests] == [("BTCUSDT", "1h")], requests
    finally:
        release.set()
        collector.cancel()


def test_a_history_that_disagrees_with_the_built_candles_is_refused_logged_and_counted(start_server, fakes, pki):
    # Streamed at the recording's own pace (about 44 trades/s) from now on, so
    # built 1s candles close on the wall clock as Binance's would.
    hour_start_ms()
    frames = rebased_frames(time.time_ns() // 1_000_000 + 2000, HISTORY_TRADES + 1500, anchor=HISTORY_TRADES)
    fake, launch = start(start_server, fakes, pki, frames, rate=RECORDED_TRADES_PER_S)

    def more_volume(row: list) -> list:
        row[5] = f"{float(row[5]) * 1.01 + 0.001:.8f}"
        return row

    fake.api.kline_tamper[("BTCUSDT", "1s")] = more_volume
    server = launch()
    server.wait_metrics_listening()
    server.log.wait_for(r"\bfeed connected\"?\s*$", WAIT_S)
    fake.resume()
    release = threading.Event()
    try:
        # Built 1s candles must exist before the history arrives to disagree with them.
        assert harness.wait_until(lambda: scrape(server).value("tickwire_trades_published_total") >= 300, WAIT_S), (
            server.log.tail(20))
        collector = harness.StreamCollector(harness.channel(server.target), "candles", harness.held_open_requests(
            release, 30, [request(symbol="BTCUSDT", interval="1s", rid="1s")]), deadline_s=40).start()
        _, line = server.log.wait_for(REFUSED_RE, WAIT_S)
        print(f"\n[disagreeing history] {line.split(' [')[0]}")
        assert harness.metadata_str(line, "symbol") == "BTCUSDT" and harness.metadata_str(line, "interval") == "1s"
        assert "volume" in harness.metadata_str(line, "reason"), line
        assert scrape(server).value("tickwire_candle_histories_refused_total") == 1
        assert not server.log.matching(JOINED_RE)
        collector.cancel()
    finally:
        release.set()
