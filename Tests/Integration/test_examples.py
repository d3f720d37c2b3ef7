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
