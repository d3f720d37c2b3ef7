"""The runnable clients of docs/examples/ (issue 21, item 6) against a real
server: each is built the way docs/examples/README.md says, outside the tree,
then run with `--count N`, and must print a subscription answered OK, prices
of the replay in trade-id order, and RSI(14) values, and exit 0 with its
`done:` tally. A second run ends each with SIGINT (Ctrl-C) once an indicator
value has arrived, which must be a clean exit too.

Python, Go and C++ always run (scripts/install-deps.sh --test installs their
toolchains). The Swift example is built by bench/peers/swift/build.sh (gRPC and
NIO from source, many minutes), so it runs only when that binary exists:
.build-peers/tickwire-watch, or $TICKWIRE_SWIFT_WATCH.

Build and run times are printed (`-s`) so CI's cost stays visible.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import harness

EXAMPLES = harness.REPO_ROOT / "docs" / "examples"
LANGUAGES = ["python", "go", "cpp", "swift"]
# 200 trades/s of the looped fixture: about 20 prices per 100 ms indicator
# batch, so a --count of 100 messages holds several batches whatever the load.
REPLAY_RATE = "200"
COUNT = 100
BUILD_TIMEOUT_S = 600.0
RUN_TIMEOUT_S = 60.0
# RSI(14) needs 15 prices of the symbol: let the replay run before any client.
WARM_UP_S = 1.0

PRICE_RE = re.compile(r"^price (?P<symbol>[A-Z]+) #(?P<trade_id>\d+) (?P<price>[0-9.e+-]+) x (?P<quantity>[0-9.e+-]+)$")
INDICATOR_RE = re.compile(r"^indicator BTCUSDT RSI\(14\) = (?P<value>-?[0-9.]+) as of trade #\d+$")
STATUS_OK_RE = re.compile(r"^subscription rsi14: code 0 OK$")
DONE_RE = re.compile(r"^done: (?P<prices>\d+) prices, (?P<batches>\d+) indicator batches$")


@pytest.fixture(scope="module")
def server(binary, tmp_path_factory):
    # server_argv's replay sets --replay-speed, which --replay-rate excludes.
    argv = harness.server_argv(None, log_level="info",
                               extra=["--replay", str(harness.TRADES_FIXTURE),
                                      "--replay-rate", REPLAY_RATE, "--replay-loop"])
    log = tmp_path_factory.mktemp("examples-server") / "tickwire.stderr.log"
    srv = harness.TickwireServer(argv, harness.server_env(), log)
    try:
        srv.wait_listening()
        time.sleep(WARM_UP_S)
        yield srv
    finally:
        srv.kill()


def _timed(argv: list[str], cwd: Path | None = None, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish_build(name: str, proc: subprocess.Popen, started: float) -> None:
    try:
        output, _ = proc.communicate(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"building the {name} example took over {BUILD_TIMEOUT_S:.0f}s:\n{output[-3000:]}")
    elapsed = time.monotonic() - started
    print(f"\n{name} example built in {elapsed:.1f}s")
    if proc.returncode != 0:
        pytest.fail(f"building the {name} example failed (exit {proc.returncode}); "
                    f"`bash scripts/install-deps.sh --test` installs its toolchain:\n{output[-3000:]}")


@pytest.fixture(scope="module")
def clients(tmp_path_factory) -> dict[str, list[str]]:
    """The command line of each example, built in a temporary directory. Go and
    C++ build at the same time: both are mostly waiting on one compiler."""
    out = tmp_path_factory.mktemp("examples")
    for tool in ("protoc", "go", "protoc-gen-go", "protoc-gen-go-grpc", "grpc_cpp_plugin", "make", "g++"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: `bash scripts/install-deps.sh --test` installs it")
    started = time.monotonic()
    go = _timed(["sh", str(EXAMPLES / "go" / "build.sh"), str(out / "go")])
    cpp = _timed(["make", "-C", str(EXAMPLES / "cpp"), f"OUT={out / 'cpp'}"])
    _finish_build("Go", go, started)
    _finish_build("C++", cpp, started)
    commands = {
        "python": [sys.executable, str(EXAMPLES / "python" / "watch_prices.py"),
                   "--stubs", str(harness.ensure_stubs())],
        "go": [str(out / "go" / "twwatch")],
        "cpp": [str(out / "cpp" / "twwatch")],
    }
    swift = Path(os.environ.get("TICKWIRE_SWIFT_WATCH", harness.REPO_ROOT / ".build-peers" / "tickwire-watch"))
    if swift.exists():
        commands["swift"] = [str(swift)]
    return commands


def _command(clients, language: str) -> list[str]:
    if language not in clients:
        pytest.skip("the Swift example is not built: bench/peers/swift/build.sh builds it "
                    "(or set TICKWIRE_SWIFT_WATCH)")
    return clients[language]


def _check_output(language: str, lines: list[str]) -> tuple[int, int]:
    """Asserts what every example prints; returns (prices, batches) from `done:`."""
    text = "\n".join(lines[-40:])
    assert any(STATUS_OK_RE.match(line) for line in lines), f"{language}: no OK subscription status:\n{text}"
    prices = [PRICE_RE.match(line) for line in lines if line.startswith("price ")]
    assert prices and all(prices), f"{language}: no price, or a malformed price line:\n{text}"
    last_id: dict[str, int] = {}
    for match in prices:
        symbol, trade_id = match["symbol"], int(match["trade_id"])
        assert symbol in ("BTCUSDT", "ETHUSDT"), f"{language}: unexpected symbol in {match.group(0)!r}"
        assert float(match["price"]) > 0 and float(match["quantity"]) > 0, match.group(0)
        assert trade_id > last_id.get(symbol, -1), f"{language}: {symbol} ids out of order at {trade_id}"
        last_id[symbol] = trade_id
    values = [INDICATOR_RE.match(line) for line in lines if line.startswith("indicator ")]
    assert values and all(values), f"{language}: no RSI(14) of BTCUSDT, or a malformed indicator line:\n{text}"
    assert all(0.0 <= float(v["value"]) <= 100.0 for v in values), f"{language}: RSI out of [0, 100]"
    done = [DONE_RE.match(line) for line in lines if line.startswith("done:")]
    assert len(done) == 1 and done[0], f"{language}: no `done:` tally:\n{text}"
    counted = int(done[0]["prices"]), int(done[0]["batches"])
    assert counted[0] == len(prices), f"{language}: tally {counted} but {len(prices)} price lines"
    assert counted[1] >= 1, f"{language}: tally counts no indicator batch"
    return counted


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_prints_prices_and_rsi_then_exits_at_count(server, clients, language):
    argv = _command(clients, language) + ["--target", server.target, "--symbol", "btcusdt",
                                          "--count", str(COUNT)]
    started = time.monotonic()
    try:
        run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{language}: still running after {RUN_TIMEOUT_S:.0f}s with --count {COUNT}:\n"
                    f"{(error.stdout or b'')[-2000:]!r}")
    print(f"\n{language} example: --count {COUNT} in {time.monotonic() - started:.2f}s")
    assert run.returncode == 0, f"{language}: exit {run.returncode}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    lines = run.stdout.splitlines()
    prices, batches = _check_output(language, lines)
    assert prices + batches == COUNT, f"{language}: --count {COUNT} but {prices} prices + {batches} batches"
    assert f"stream ended: --count {COUNT} reached" in lines, f"{language}: {lines[-5:]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_exits_cleanly_on_ctrl_c(server, clients, language, tmp_path):
    argv = _command(clients, language) + ["--target", server.target]
    lines: list[str] = []
    indicator_seen = threading.Event()

    def pump(stdout) -> None:
        for line in stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("indicator "):
                indicator_seen.set()

    with (tmp_path / "stderr").open("w+") as stderr:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr, text=True, start_new_session=True)
        reader = threading.Thread(target=pump, args=(proc.stdout,), daemon=True)
        reader.start()
        try:
            assert indicator_seen.wait(RUN_TIMEOUT_S), \
                f"{language}: no indicator line in {RUN_TIMEOUT_S:.0f}s:\n" + "\n".join(lines[-20:])
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
            reader.join(5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr.seek(0)
        errors = stderr.read()
    assert proc.returncode == 0, f"{language}: exit {proc.returncode} after SIGINT\n{errors[-2000:]}"
    ended = [line for line in lines if line.startswith("stream ended:")]
    assert ended and re.match(r"stream ended: (CANCELLED|cancelled)\b", ended[-1]), f"{language}: {lines[-5:]}"
    _check_output(language, lines)


def test_swift_example_uses_the_servers_messages():
    """The Swift example compiles the server's own generated messages (a
    symlink), so it cannot drift from the .proto as a copy would."""
    link = EXAMPLES / "swift" / "tickwire-watch" / "Sources" / "TickwireWatch" / "tickwire_v1_price_stream.pb.swift"
    assert link.is_symlink(), link
    assert link.resolve() == harness.REPO_ROOT / "Sources" / "TickwireProto" / "tickwire_v1_price_stream.pb.swift"


# MACD on 1m candles (issue 19): watch_macd.py and the grpcurl request of
# docs/wire-api.md, against a replay of the day of real 1m candles, checked
# against TA-Lib on that day's closes.

DAY_TRADES = harness.FIXTURES_DIR / "trades-btcusdt-2023-03-10-from-klines.jsonl"
DAY_CSV = harness.FIXTURES_DIR / "binanceus-BTCUSDT-1m-2023-03-10.csv"
MACD_CLOSES = 20
MACD_LINE_RE = re.compile(r"^BTCUSDT MACD CANDLE_INTERVAL_1M (?P<label>on close|provisional): macd (?P<macd>-?[0-9.]+) "
                          r"signal (?P<signal>-?[0-9.]+) histogram (?P<histogram>-?[0-9.]+) "
                          r"\(candle ending (?P<close_ms>\d+)\)$")


@pytest.fixture
def day_server(binary, tmp_path):
    # 4 trades a minute at 400 trades/s: a 1m close every 10 ms of replay, and
    # --replay-wait-streams 1 holds the day until the client is there. One
    # server per test: the day lasts ~15 s, and a test that came after it
    # ended would wait for closes that never come.
    argv = harness.server_argv(None, log_level="info",
                               extra=["--replay", str(DAY_TRADES), "--replay-rate", "400",
                                      "--replay-wait-streams", "1", "--indicator-interval", "5ms"])
    log = tmp_path / "tickwire.stderr.log"
    srv = harness.TickwireServer(argv, harness.server_env(), log)
    try:
        srv.wait_listening()
        yield srv
    finally:
        srv.kill()


def _talib_macd_by_close_ms() -> dict[int, tuple[float, float, float]]:
    import csv
    import datetime as dt

    import numpy as np
    import talib
    rows = list(csv.DictReader(DAY_CSV.open()))
    closes = np.array([float(r["close"]) for r in rows], dtype=np.float64)
    macd, signal_line, histogram = talib.MACD(closes, fastperiod=12, slowperiod=26, signalperiod=9)
    out = {}
    for index, row in enumerate(rows):
        open_ms = int(dt.datetime.fromisoformat(row["open_time"]).timestamp() * 1000)
        if not np.isnan(macd[index]) and not np.isnan(signal_line[index]):
            out[open_ms + 59_999] = (macd[index], signal_line[index], histogram[index])
    return out


def test_watch_macd_prints_talibs_macd_on_1m_closes(day_server):
    argv = [sys.executable, str(EXAMPLES / "python" / "watch_macd.py"), "--target", day_server.target,
            "--forming", "--closes", str(MACD_CLOSES), "--stubs", str(harness.ensure_stubs())]
    run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    lines = run.stdout.splitlines()
    assert "subscription macd-1m: code 0 OK (MACD 12, 26, 9)" in lines, lines[:5]
    matches = [MACD_LINE_RE.match(line) for line in lines if line.startswith("BTCUSDT MACD")]
    assert matches and all(matches), lines[:10]
    on_close = [m for m in matches if m["label"] == "on close"]
    assert len(on_close) == MACD_CLOSES and any(m["label"] == "provisional" for m in matches), lines[-5:]
    want = _talib_macd_by_close_ms()
    for match in on_close:
        expected = want[int(match["close_ms"])]
        got = (float(match["macd"]), float(match["signal"]), float(match["histogram"]))
        # The example prints four decimals.
        assert all(abs(g - e) <= 0.00006 for g, e in zip(got, expected)), (match.group(0), expected)
    # The first value comes with the 34th candle (TA-Lib's MACD(12, 26, 9) look-back is 33).
    assert int(on_close[0]["close_ms"]) == min(want), (on_close[0].group(0), min(want))
    assert f"stream ended: --closes {MACD_CLOSES} reached" in lines
    print(f"\nwatch_macd.py: {len(on_close)} values on close equal TA-Lib's to the 4 printed decimals")


def test_the_grpcurl_macd_request_of_the_docs_subscribes(day_server):
    """grpcurl is not in Debian: the JSON the docs pass to `grpcurl -d` is
    parsed with protobuf's JSON mapping, as grpcurl parses it, and sent."""
    from google.protobuf import json_format
    pb, rpc = harness.stubs()
    text = (harness.REPO_ROOT / "docs" / "wire-api.md").read_text()
    block = re.search(r"grpcurl -plaintext -H 'tickwire-stream-duration: 10m' -d '(?P<json>[^']*INDICATOR_TYPE_MACD[^']*)'",
                      text)
    assert block, "the grpcurl MACD example is gone from docs/wire-api.md"
    request = json_format.Parse(block["json"], pb.IndicatorRequest())
    assert request.interval == pb.CANDLE_INTERVAL_1M and request.forming
    with harness.channel(day_server.target) as channel:
        call = rpc.PriceStreamStub(channel).StreamPrices(iter([request]), timeout=RUN_TIMEOUT_S)
        status = next(r.status for r in call if r.WhichOneof("payload") == "status")
        call.cancel()
    assert (status.code, status.request_id, status.parameters.macd.slow_period) == (0, "macd-1m", 26), status


# Candles (issue 18): watch_candles.py on a replay of the same day, its 1m
# candles checked against the day's real klines and its RSI(14) on close
# against TA-Lib. Every check goes by the candle's time, never by its place in
# the day, so the client may join wherever the day stands.

CANDLE_CLOSES = 30
CANDLE_LINE_RE = re.compile(r"^BTCUSDT CANDLE_INTERVAL_1M open (?P<open_ms>\d+) (?P<state>closed|forming): "
                            r"O (?P<open>[0-9.]+) H (?P<high>[0-9.]+) L (?P<low>[0-9.]+) C (?P<close>[0-9.]+) "
                            r"V (?P<volume>[0-9.]+) n (?P<trades>\d+)$")
RSI_LINE_RE = re.compile(r"^BTCUSDT RSI\(14\) CANDLE_INTERVAL_1M (?P<label>on close|provisional) = (?P<value>[0-9.]+) "
                         r"\(candle ending (?P<close_ms>\d+)\)$")


def _real_minutes_by_open_ms() -> dict[int, dict[str, float]]:
    import csv
    import datetime as dt
    out = {}
    for row in csv.DictReader(DAY_CSV.open()):
        open_ms = int(dt.datetime.fromisoformat(row["open_time"]).timestamp() * 1000)
        out[open_ms] = {k: float(row[k]) for k in ("open", "high", "low", "close", "volume")}
    return out


def _talib_rsi14_by_close_ms(minutes: dict[int, dict[str, float]]) -> dict[int, float]:
    import numpy as np
    import talib
    open_times = sorted(minutes)
    rsi = talib.RSI(np.array([minutes[t]["close"] for t in open_times], dtype=np.float64), timeperiod=14)
    return {t + 59_999: value for t, value in zip(open_times, rsi) if not np.isnan(value)}


def test_watch_candles_prints_the_real_1m_candles(day_server):
    argv = [sys.executable, str(EXAMPLES / "python" / "watch_candles.py"), "--target", day_server.target,
            "--closes", str(CANDLE_CLOSES), "--stubs", str(harness.ensure_stubs())]
    try:
        run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        # Most likely the day's replay ended before this client came: no candle closes after it.
        pytest.fail(f"still running after {RUN_TIMEOUT_S:.0f}s with --closes {CANDLE_CLOSES}:\n"
                    f"{(error.stdout or b'')[-2000:]!r}")
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    lines = run.stdout.splitlines()
    for request_id in ("candles-1m", "rsi14-1m"):
        assert f"subscription {request_id}: code 0 OK" in lines, lines[:5]
    candles = [CANDLE_LINE_RE.match(line) for line in lines if line.startswith("BTCUSDT CANDLE_INTERVAL_1M")]
    assert candles and all(candles), lines[:10]
    # Subscribed without `forming`: the last closed candle at once, then each close.
    assert [c["state"] for c in candles] == ["closed"] * CANDLE_CLOSES, lines[-5:]
    open_times = [int(c["open_ms"]) for c in candles]
    assert open_times == list(range(open_times[0], open_times[0] + CANDLE_CLOSES * 60_000, 60_000)), \
        "candles missing or repeated"
    real = _real_minutes_by_open_ms()
    for candle in candles:
        minute = real[int(candle["open_ms"])]
        # Prices print unrounded, so they must read back as the kline's own doubles.
        assert [float(candle[k]) for k in ("open", "high", "low", "close")] == \
               [minute[k] for k in ("open", "high", "low", "close")], (candle.group(0), minute)
        # Volume prints six decimals of the sum of the recording's quantities.
        assert abs(float(candle["volume"]) - minute["volume"]) <= 0.0000005, (candle.group(0), minute)
        # klines_to_trades.py makes four trades of each minute that had volume, none of one without.
        assert int(candle["trades"]) == (4 if minute["volume"] > 0 else 0), (candle.group(0), minute)
    values = [RSI_LINE_RE.match(line) for line in lines if line.startswith("BTCUSDT RSI(14)")]
    assert values and all(values), lines[:10]
    on_close = [v for v in values if v["label"] == "on close"]
    assert on_close and any(v["label"] == "provisional" for v in values), lines[-5:]
    want = _talib_rsi14_by_close_ms(real)
    for value in on_close:
        # The example prints four decimals.
        assert abs(float(value["value"]) - want[int(value["close_ms"])]) <= 0.00006, \
            (value.group(0), want[int(value["close_ms"])])
    assert f"stream ended: --closes {CANDLE_CLOSES} reached" in lines
    print(f"\nwatch_candles.py: {len(candles)} 1m candles from {candles[0]['open_ms']} equal the real ones "
          f"(OHLC exact, volume to the 6 printed decimals), {len(on_close)} RSI(14) values on close TA-Lib's "
          f"to the 4 printed decimals")
