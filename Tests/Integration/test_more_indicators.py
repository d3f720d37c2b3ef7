"""MACD, Bollinger Bands, ATR, Stochastic and VWAP over the real server (issue 19).

- Per trade, over the real trades of Tests/Fixtures (2024-08-08, BTCUSDT and
  ETHUSDT, crossing 00:00 UTC): every batched MACD and BBANDS update equals
  TA-Lib at its trade id, every output (1e-9 relative); VWAP anchored to the
  UTC day equals pandas (Σ price·qty / Σ qty per UTC day, cumulative).
- On 1m candles, over the trades made from a real day of 1m candles
  (2023-03-10): at every close MACD, BBANDS, ATR and STOCH equal TA-Lib on the
  real candles, VWAP (day and candle anchors) equals pandas on the trades;
  every provisional (forming) update equals TA-Lib with the forming candle as
  it stood at the update's trade appended.
- Parameters: defaults filled in and echoed; bad ones get 3 with a message
  naming the parameter; candle-only kinds refused per trade; the pool limit 8.
"""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pandas as pd
import pytest
import talib

import harness
from harness import REPLAY_FINISHED_RE

FIXTURES = harness.FIXTURES_DIR
DAY_CSV = FIXTURES / "binanceus-BTCUSDT-1m-2023-03-10.csv"
DAY_TRADES = FIXTURES / "trades-btcusdt-2023-03-10-from-klines.jsonl"
REL_TOL = 1e-9
ABS_TOL = 1e-9  # for outputs near 0 (MACD histogram, %K at a low)
MINUTE_MS = 60_000
OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED = 0, 3, 8
WAIT_S = 90.0


def pb():
    return harness.stubs()[0]


def request(kind, symbol="BTCUSDT", interval=None, forming=False, period=0, rid=None, **parameters):
    """An IndicatorRequest; `parameters` is one of macd=, bollinger=, stochastic=, vwap= (dicts)."""
    message = pb().IndicatorRequest(symbol=symbol, type=pb().IndicatorType.Value(f"INDICATOR_TYPE_{kind}"),
                                    period=period, forming=forming, request_id=rid or f"{kind}-{parameters}")
    if interval:
        message.interval = pb().CandleInterval.Value(f"CANDLE_INTERVAL_{interval.upper()}")
    for name, fields in parameters.items():
        getattr(message.parameters, name).SetInParent()
        for field, value in fields.items():
            setattr(getattr(message.parameters, name), field, value)
    return message


def close_to(a: float, b: float, abs_tol: float = ABS_TOL) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=abs_tol)


def kind_of(update) -> str:
    return pb().IndicatorType.Name(update.type).removeprefix("INDICATOR_TYPE_")


def identity(update) -> tuple:
    """What tells the subscriptions apart: type, period and the echoed parameters."""
    return (kind_of(update), update.period, update.parameters.SerializeToString(deterministic=True))


def updates(items) -> list:
    out = []
    for item in items:
        response = item.response if hasattr(item, "response") else item
        if response.WhichOneof("payload") == "indicators":
            out += list(response.indicators.updates)
    return out


def statuses(collector) -> list:
    return [r.status for r in collector.non_prices() if r.WhichOneof("payload") == "status"]


def wait_statuses(collector, n, timeout_s=10.0) -> list:
    assert harness.wait_until(lambda: len(statuses(collector)) >= n, timeout_s), collector.describe_end()
    return statuses(collector)


def reference_outputs(kind: str, high, low, close, params: dict) -> list[np.ndarray]:
    """TA-Lib's outputs in the wire order of `kind`."""
    if kind == "MACD":
        return list(talib.MACD(close, fastperiod=params["fast"], slowperiod=params["slow"], signalperiod=params["signal"]))
    if kind == "BBANDS":
        return list(talib.BBANDS(close, timeperiod=params["period"], nbdevup=params["up"], nbdevdn=params["down"], matype=0))
    if kind == "ATR":
        return [talib.ATR(high, low, close, timeperiod=params["period"])]
    if kind == "STOCH":
        return list(talib.STOCH(high, low, close, fastk_period=params["fastk"], slowk_period=params["slowk"],
                                slowk_matype=0, slowd_period=params["slowd"], slowd_matype=0))
    raise AssertionError(kind)


class Worst:
    """The largest error seen per output, for the report: relative where the
    reference is at least 1e-6, absolute below (a %K at its low, a MACD
    crossing zero), where a relative error says nothing."""

    def __init__(self) -> None:
        self.relative: dict[str, float] = {}
        self.absolute: dict[str, float] = {}

    def note(self, name: str, got: float, want: float) -> None:
        if abs(want) >= 1e-6:
            self.relative[name] = max(self.relative.get(name, 0.0), abs(got - want) / abs(want))
        else:
            self.absolute[name] = max(self.absolute.get(name, 0.0), abs(got - want))

    def report(self, title: str) -> None:
        print(f"\n{title}: max relative error per output (absolute where the reference is below 1e-6)")
        for name in sorted(set(self.relative) | set(self.absolute)):
            extra = f"  abs {self.absolute[name]:.3e}" if name in self.absolute else ""
            print(f"  {name:55s} rel {self.relative.get(name, 0.0):.3e}{extra}")


def check(worst: Worst, name: str, update, want: list[float], where: str) -> None:
    assert len(update.values) == len(want), (name, where, list(update.values))
    assert update.value == update.values[0], (name, where)
    for position, (got, expected) in enumerate(zip(update.values, want)):
        assert not math.isnan(expected), (name, where, "TA-Lib has no value here, the server sent one")
        # MACD is TA-Lib's to the last bit, so no absolute floor even near zero.
        assert close_to(got, expected, 0.0 if name.split()[1 if name.startswith(("BTC", "ETH")) else 0] == "MACD" else ABS_TOL), (
            name, where, position, got, expected)
        worst.note(f"{name}[{position}]", got, expected)


# --------------------------------------------------------------------------
# Per trade: MACD, BBANDS, VWAP(UTC day) over the real 2024-08-08 trades
# --------------------------------------------------------------------------

PER_TRADE = [
    ("MACD", {}, {"fast": 12, "slow": 26, "signal": 9}),
    ("MACD", {"macd": {"fast_period": 5, "slow_period": 35, "signal_period": 5}}, {"fast": 5, "slow": 35, "signal": 5}),
    ("BBANDS", {}, {"period": 20, "up": 2.0, "down": 2.0}),
    ("BBANDS", {"bollinger": {"deviations_up": 1.5, "deviations_down": 2.5}, "period": 10},
     {"period": 10, "up": 1.5, "down": 2.5}),
    ("VWAP", {}, {}),
]


def test_per_trade_values_equal_talib_and_pandas(start_server, collectors, grpc_channels):
    trades = harness.fixture_trades()
    # Paced (about 9 s), so that hundreds of batches each carry a fresh value.
    server = start_server(replay=harness.TRADES_FIXTURE, speed="40", wait_streams=2,
                          extra=["--indicator-interval", "1ms"])
    requests = []
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for index, (kind, fields, _) in enumerate(PER_TRADE):
            fields = dict(fields)
            period = fields.pop("period", 0)
            requests.append(request(kind, symbol=symbol, period=period, rid=f"{symbol}-{kind}-{index}", **fields))
    release = threading.Event()
    main = collectors(grpc_channels(server.target), name="main",
                      requests=harness.held_open_requests(release, WAIT_S, requests), deadline_s=WAIT_S).start()
    got_statuses = wait_statuses(main, len(requests))
    assert all(s.code == OK for s in got_statuses), [(s.request_id, s.code, s.message) for s in got_statuses]
    echoed = {s.request_id: s for s in got_statuses}
    assert echoed["BTCUSDT-MACD-0"].parameters.macd.slow_period == 26
    assert echoed["BTCUSDT-BBANDS-2"].period == 0 and echoed["BTCUSDT-BBANDS-2"].parameters.bollinger.deviations_up == 2
    assert echoed["BTCUSDT-VWAP-4"].parameters.vwap.anchor == pb().VWAP_ANCHOR_UTC_DAY
    bystander = collectors(grpc_channels(server.target), name="bystander", deadline_s=WAIT_S).start()
    assert bystander.wait_count(harness.FIXTURE_TRADE_COUNT, 60), bystander.describe_end()
    server.log.wait_for(REPLAY_FINISHED_RE, 30)
    time.sleep(0.5)
    release.set()

    frame = pd.DataFrame([t.__dict__ for t in trades])
    worst = Worst()
    compared = {}
    for symbol, mine in frame.groupby("symbol", sort=False):
        mine = mine.reset_index(drop=True)
        index_of = {trade_id: i for i, trade_id in enumerate(mine["trade_id"])}
        close = mine["price"].to_numpy(dtype=np.float64)
        # VWAP as docs/wire-api.md defines it, with pandas: per UTC day, cumulative.
        day = pd.to_datetime(mine["trade_time_ms"], unit="ms", utc=True).dt.floor("D")
        notional = mine["price"] * mine["quantity"]
        vwap = (notional.groupby(day).cumsum() / mine["quantity"].groupby(day).cumsum()).to_numpy()
        assert day.nunique() == 2, "the fixture crosses 00:00 UTC, so VWAP restarts once"
        wanted = {}
        for kind, fields, params in PER_TRADE:
            outputs = [vwap] if kind == "VWAP" else reference_outputs(kind, close, close, close, params)
            wanted[(kind, params.get("period", 0), params.get("fast", 0), params.get("up", 0))] = outputs
        for update in (u for u in updates(main.items) if u.symbol == symbol):
            kind = kind_of(update)
            p = update.parameters
            key = (kind, update.period, p.macd.fast_period, p.bollinger.deviations_up)
            name = f"{symbol} {kind} {update.period or ''}{p.macd.fast_period or ''} {p.bollinger.deviations_up or ''}"
            at = index_of[update.trade_id]
            check(worst, name, update, [o[at] for o in wanted[key]], f"trade {update.trade_id}")
            compared[name] = compared.get(name, 0) + 1
    worst.report("per trade against TA-Lib (VWAP: pandas)")
    assert len(compared) == 2 * len(PER_TRADE), compared
    assert min(compared.values()) >= 100, compared


# --------------------------------------------------------------------------
# On 1m candles of a real day, with the forming candle
# --------------------------------------------------------------------------

ON_CANDLES = [
    ("MACD", {}, {"fast": 12, "slow": 26, "signal": 9}),
    ("BBANDS", {}, {"period": 20, "up": 2.0, "down": 2.0}),
    ("ATR", {}, {"period": 14}),
    ("STOCH", {}, {"fastk": 5, "slowk": 3, "slowd": 3}),
    ("STOCH", {"stochastic": {"fastk_period": 14, "slowk_period": 1, "slowd_period": 4}},
     {"fastk": 14, "slowk": 1, "slowd": 4}),
    ("VWAP", {}, {"anchor": "day"}),
    ("VWAP", {"vwap": {"anchor": 2}}, {"anchor": "candle"}),
]


def real_day() -> pd.DataFrame:
    day = pd.read_csv(DAY_CSV)
    # Unit-proof (pandas 3 picks a datetime resolution from the data).
    opened = pd.to_datetime(day["open_time"], utc=True)
    day["open_time_ms"] = (opened - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    return day


def day_trades() -> pd.DataFrame:
    rows = [json.loads(line)["data"] for line in DAY_TRADES.read_text().splitlines() if line]
    frame = pd.DataFrame({"trade_id": [r["t"] for r in rows], "price": [float(r["p"]) for r in rows],
                          "quantity": [float(r["q"]) for r in rows], "time_ms": [r["T"] for r in rows]})
    frame["minute"] = frame["time_ms"] // MINUTE_MS * MINUTE_MS
    return frame


@pytest.fixture(scope="module")
def candle_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("more-indicators")
    argv = harness.server_argv(None, symbols="btcusdt",
                               extra=["--replay", str(DAY_TRADES), "--replay-rate", "250",
                                      "--replay-wait-streams", "2", "--indicator-interval", "2ms"])
    server = harness.TickwireServer(argv, harness.server_env(), tmp / "tickwire.stderr.log", None)
    release = threading.Event()
    try:
        server.wait_listening()
        requests = []
        for index, (kind, fields, _) in enumerate(ON_CANDLES):
            requests.append(request(kind, interval="1m", forming=True, rid=f"{kind}-{index}", **fields))
        main = harness.StreamCollector(harness.channel(server.target), "main",
                                       harness.held_open_requests(release, WAIT_S, requests),
                                       deadline_s=WAIT_S + 30).start()
        got = wait_statuses(main, len(requests))
        assert all(s.code == OK for s in got), [(s.request_id, s.code, s.message) for s in got]
        trigger = harness.StreamCollector(harness.channel(server.target), "trigger", deadline_s=WAIT_S + 30).start()
        server.log.wait_for(REPLAY_FINISHED_RE, WAIT_S)
        time.sleep(0.5)
        yield main.items[:]
        release.set()
        for collector in (main, trigger):
            collector.cancel()
    finally:
        server.stop()
        server.kill()


class DayTape:
    """The day's trades as arrays, for O(log n) look-ups of a candle as it stood."""

    def __init__(self, trades: pd.DataFrame) -> None:
        self.ids = trades["trade_id"].to_numpy()
        self.prices = trades["price"].to_numpy()
        self.minutes = trades["minute"].to_numpy()
        self.notional = (trades["price"] * trades["quantity"]).to_numpy()
        self.quantity = trades["quantity"].to_numpy()
        # pandas' cumulative sums; the fixture is one UTC day, so this is the day anchor.
        self.day_vwap = (pd.Series(self.notional).cumsum() / pd.Series(self.quantity).cumsum()).to_numpy()
        sums = pd.DataFrame({"minute": self.minutes, "notional": self.notional,
                             "quantity": self.quantity}).groupby("minute").sum()
        self.candle_vwap = (sums["notional"] / sums["quantity"]).to_dict()

    def upto(self, trade_id: int) -> int:
        """How many trades have ids up to `trade_id`."""
        return int(np.searchsorted(self.ids, trade_id, side="right"))

    def forming_bar(self, minute: int, trade_id: int, previous_close: float):
        """(high, low, close, the candle's VWAP or nan) of `minute` as it stood after `trade_id`."""
        end = self.upto(trade_id) if trade_id >= 0 else 0
        start = int(np.searchsorted(self.minutes, minute, side="left"))
        if end <= start:
            return previous_close, previous_close, previous_close, math.nan
        prices = self.prices[start:end]
        return prices.max(), prices.min(), prices[-1], self.notional[start:end].sum() / self.quantity[start:end].sum()


def test_values_on_minute_candles_equal_talib_at_every_close_and_forming(candle_run):
    day = real_day()
    trades = day_trades()
    t0 = int(day["open_time_ms"][0])
    high, low, close = (day[c].to_numpy(dtype=np.float64) for c in ("high", "low", "close"))
    minutes = day["open_time_ms"].to_numpy()
    # The last trade id of each minute (the previous minute's for one without trades).
    last_ids = trades.groupby("minute")["trade_id"].max()
    day_last_id = pd.Series([last_ids.get(int(m), np.nan) for m in minutes]).ffill().fillna(-1).to_numpy()
    # TA-Lib is causal: the whole day's output at minute i is its output on minutes 0...i.
    whole = {f"{kind} {json.dumps(params, sort_keys=True)}": reference_outputs(kind, high, low, close, params)
             for kind, _, params in ON_CANDLES if kind != "VWAP"}
    worst = Worst()
    tape = DayTape(trades)
    closes_seen: dict[str, set] = {}
    forming_seen: dict[str, int] = {}
    for update in updates(candle_run):
        kind = kind_of(update)
        p = update.parameters
        params = {"MACD": lambda: {"fast": p.macd.fast_period, "slow": p.macd.slow_period, "signal": p.macd.signal_period},
                  "BBANDS": lambda: {"period": update.period, "up": p.bollinger.deviations_up, "down": p.bollinger.deviations_down},
                  "ATR": lambda: {"period": update.period},
                  "STOCH": lambda: {"fastk": p.stochastic.fastk_period, "slowk": p.stochastic.slowk_period,
                                    "slowd": p.stochastic.slowd_period},
                  "VWAP": lambda: {"anchor": "candle" if p.vwap.anchor == pb().VWAP_ANCHOR_CANDLE else "day"}}[kind]()
        name = f"{kind} {json.dumps(params, sort_keys=True)}"
        index = (update.trade_time_ms + 1 - t0) // MINUTE_MS - 1
        if not update.forming:
            if kind == "VWAP":
                want = [tape.candle_vwap[int(minutes[index])] if params["anchor"] == "candle"
                        else tape.day_vwap[tape.upto(int(day_last_id[index])) - 1]]
            else:
                want = [o[index] for o in whole[name]]
            check(worst, name, update, want, f"close of minute {index}")
            closes_seen.setdefault(name, set()).add(index)
            continue
        # Forming: closed candles 0..index-1, plus minute `index` as it stood at update.trade_id.
        h, lo, c, candle_vwap = tape.forming_bar(int(minutes[index]), update.trade_id, close[index - 1])
        if kind == "VWAP":
            want = [candle_vwap if params["anchor"] == "candle" else tape.day_vwap[tape.upto(update.trade_id) - 1]]
        else:
            want = [o[-1] for o in reference_outputs(kind, np.append(high[:index], h), np.append(low[:index], lo),
                                                     np.append(close[:index], c), params)]
        name += " forming"
        check(worst, name, update, want, f"forming minute {index} at trade {update.trade_id}")
        forming_seen[name] = forming_seen.get(name, 0) + 1
    worst.report("on 1m candles against TA-Lib (VWAP: pandas)")
    assert len(closes_seen) == len(ON_CANDLES), sorted(closes_seen)
    for name, seen in closes_seen.items():
        # Every close from the first value on (the replay clock leaves the last minute forming).
        first = min(seen)
        missing = [i for i in range(first, 1_439) if i not in seen and not name.startswith("VWAP {\"anchor\": \"candle\"}")]
        assert not missing, (name, missing[:10])
        assert len(seen) >= 1_300, (name, len(seen))
    assert len(forming_seen) == len(ON_CANDLES), sorted(forming_seen)
    assert min(forming_seen.values()) >= 1_000, forming_seen


# --------------------------------------------------------------------------
# Status codes
# --------------------------------------------------------------------------

def test_bad_parameters_get_3_with_a_reason_and_the_pool_limit_8(start_server, collectors, grpc_channels):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="5", wait_streams=1,
                          extra=["--max-period", "100", "--max-indicators", "3"])
    cases = [
        (request("MACD", rid="swapped", macd={"fast_period": 26, "slow_period": 12}), INVALID_ARGUMENT,
         "fast_period 26 must be below slow_period 12"),
        (request("MACD", rid="slow", macd={"slow_period": 101}), INVALID_ARGUMENT, "slow_period 101"),
        (request("MACD", rid="period", period=14), INVALID_ARGUMENT, "period 14 is not used by MACD"),
        (request("BBANDS", rid="dev", bollinger={"deviations_down": -1}), INVALID_ARGUMENT, "deviations_down"),
        (request("BBANDS", rid="bb-period", period=1), INVALID_ARGUMENT, "period 1"),
        (request("BBANDS", rid="stray", macd={"fast_period": 3}), INVALID_ARGUMENT, "parameters.macd does not belong"),
        (request("ATR", rid="atr-trade"), INVALID_ARGUMENT, "needs candles"),
        (request("STOCH", rid="stoch-trade"), INVALID_ARGUMENT, "needs candles"),
        (request("STOCH", rid="stoch-k", interval="1m", stochastic={"slowk_period": 101}), INVALID_ARGUMENT,
         "slowk_period 101"),
        (request("VWAP", rid="vwap-candle", vwap={"anchor": 2}), INVALID_ARGUMENT, "set an interval"),
        (request("MACD", rid="ok-macd"), OK, "OK"),
        (request("BBANDS", rid="ok-bb"), OK, "OK"),
        (request("BBANDS", rid="ok-bb-explicit", period=20, bollinger={"deviations_up": 2, "deviations_down": 2}), OK, "OK"),
        (request("VWAP", rid="ok-vwap"), OK, "OK"),
        (request("MACD", rid="pool", macd={"fast_period": 3, "slow_period": 6, "signal_period": 2}),
         RESOURCE_EXHAUSTED, "--max-indicators"),
    ]
    release = threading.Event()
    stream = collectors(grpc_channels(server.target), name="codes",
                        requests=harness.held_open_requests(release, 30, [c[0] for c in cases]), deadline_s=30).start()
    got = {s.request_id: s for s in wait_statuses(stream, len(cases))}
    for message, code, words in cases:
        status = got[message.request_id]
        assert status.code == code and words in status.message, (message.request_id, status.code, status.message)
    # The explicit defaults share the state of the omitted ones: the pool (3) holds MACD, BBANDS, VWAP.
    assert got["ok-bb-explicit"].parameters == got["ok-bb"].parameters
    assert harness.wait_until(lambda: len(stream.prices()) >= 5, 20), stream.describe_end()
    release.set()


def test_the_stream_and_connection_limits_hold_for_the_new_types(start_server, collectors, grpc_channels):
    """--max-subscriptions-per-stream and --max-indicators-per-connection
    count MACD, BBANDS, ATR, STOCH and VWAP as they count SMA, EMA and RSI:
    over either, code 8 naming the flag, and the stream carries on."""
    server = start_server(replay=harness.TRADES_FIXTURE, speed="5", wait_streams=1,
                          extra=["--max-subscriptions-per-stream", "2", "--max-indicators-per-connection", "3"])
    chan = grpc_channels(server.target)
    first_cases = [
        (request("MACD", rid="a-macd"), OK, "OK"),
        (request("BBANDS", rid="a-bb"), OK, "OK"),
        (request("ATR", rid="a-atr", interval="1m"), RESOURCE_EXHAUSTED, "--max-subscriptions-per-stream"),
    ]
    second_cases = [
        (request("STOCH", rid="b-stoch", interval="1m"), OK, "OK"),
        (request("VWAP", rid="b-vwap"), RESOURCE_EXHAUSTED, "--max-indicators-per-connection"),
    ]
    release = threading.Event()
    for name, cases in (("first", first_cases), ("second", second_cases)):
        stream = collectors(chan, name=name, deadline_s=30,
                            requests=harness.held_open_requests(release, 30, [c[0] for c in cases])).start()
        got = {s.request_id: s for s in wait_statuses(stream, len(cases))}
        for message, code, words in cases:
            status = got[message.request_id]
            assert status.code == code and words in status.message, (message.request_id, status.code, status.message)
    assert harness.wait_until(lambda: len(stream.prices()) >= 5, 20), stream.describe_end()
    release.set()


# --------------------------------------------------------------------------
# On 1s candles of the real trades in Tests/Fixtures
# --------------------------------------------------------------------------

ON_SECONDS = [kind for kind in ON_CANDLES if kind[0] in ("MACD", "BBANDS", "ATR", "STOCH")]


def second_bars(trades: pd.DataFrame) -> pd.DataFrame:
    """1s bars of one symbol's real trades, grouped here without the server:
    a second without trades is flat at the previous close, as Binance's 1s
    klines are (test_candles.py checks the server's 1s candles against the
    same grouping)."""
    second = trades["trade_time_ms"] // 1000
    grouped = trades.groupby(second)["price"].agg(["max", "min", "last"])
    seconds = np.arange(int(second.min()), int(second.max()) + 1)
    bars = grouped.reindex(seconds)
    bars["last"] = bars["last"].ffill()
    bars["max"] = bars["max"].fillna(bars["last"])
    bars["min"] = bars["min"].fillna(bars["last"])
    bars.index = bars.index * 1000
    return bars


def test_values_on_second_candles_of_real_trades_equal_talib_at_every_close(start_server, collectors, grpc_channels):
    """ATR and the Stochastic need candles; here they, MACD and the bands run
    on the 1s candles of the real 2024-08-08 trades of both symbols, and
    equal TA-Lib over a plain grouping of those trades at every close."""
    server = start_server(replay=harness.TRADES_FIXTURE, speed="40", wait_streams=2,
                          extra=["--indicator-interval", "1ms"])
    requests = [request(kind, symbol=symbol, interval="1s", rid=f"{symbol}-{kind}-{index}", **fields)
                for symbol in ("BTCUSDT", "ETHUSDT") for index, (kind, fields, _) in enumerate(ON_SECONDS)]
    release = threading.Event()
    main = collectors(grpc_channels(server.target), name="seconds",
                      requests=harness.held_open_requests(release, WAIT_S, requests), deadline_s=WAIT_S).start()
    got = wait_statuses(main, len(requests))
    assert all(s.code == OK for s in got), [(s.request_id, s.code, s.message) for s in got]
    bystander = collectors(grpc_channels(server.target), name="bystander", deadline_s=WAIT_S).start()
    assert bystander.wait_count(harness.FIXTURE_TRADE_COUNT, 60), bystander.describe_end()
    server.log.wait_for(REPLAY_FINISHED_RE, 30)
    time.sleep(0.5)
    release.set()

    frame = pd.DataFrame([t.__dict__ for t in harness.fixture_trades()])
    worst = Worst()
    seen: dict[str, set] = {}
    for symbol, mine in frame.groupby("symbol", sort=False):
        bars = second_bars(mine.reset_index(drop=True))
        starts = bars.index.to_numpy()
        high, low, close = (bars[c].to_numpy(dtype=np.float64) for c in ("max", "min", "last"))
        whole = {(kind, json.dumps(params, sort_keys=True)): reference_outputs(kind, high, low, close, params)
                 for kind, _, params in ON_SECONDS}
        for update in (u for u in updates(main.items) if u.symbol == symbol):
            assert not update.forming
            kind = kind_of(update)
            p = update.parameters
            params = {"MACD": lambda: {"fast": p.macd.fast_period, "slow": p.macd.slow_period, "signal": p.macd.signal_period},
                      "BBANDS": lambda: {"period": update.period, "up": p.bollinger.deviations_up,
                                         "down": p.bollinger.deviations_down},
                      "ATR": lambda: {"period": update.period},
                      "STOCH": lambda: {"fastk": p.stochastic.fastk_period, "slowk": p.stochastic.slowk_period,
                                        "slowd": p.stochastic.slowd_period}}[kind]()
            key = (kind, json.dumps(params, sort_keys=True))
            index = int(np.searchsorted(starts, update.trade_time_ms + 1 - 1000))
            assert starts[index] == update.trade_time_ms + 1 - 1000, (key, update.trade_time_ms)
            name = f"{symbol} {kind} {key[1]}"
            check(worst, name, update, [o[index] for o in whole[key]], f"close of second {index}")
            seen.setdefault(name, set()).add(index)
    worst.report("on 1s candles of the real trades against TA-Lib")
    print("closes compared per series:", sorted({len(v) for v in seen.values()}))
    assert len(seen) == 2 * len(ON_SECONDS), sorted(seen)
    for name, indexes in seen.items():
        # Every close from the first value on; the replay clock leaves the last second forming.
        missing = [i for i in range(min(indexes), max(indexes) + 1) if i not in indexes]
        assert not missing and len(indexes) >= 250, (name, len(indexes), missing[:10])
