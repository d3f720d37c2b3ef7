"""Errors that name their cause: each bad input exits with a stated code and
a message that says which flag, variable, listener or file is at fault.

Exit 64 (EX_USAGE) is a refused configuration, found before anything starts;
exit 1 is a failure while starting (a port taken, a recording with nothing to
play). Every case runs the real binary and reads its stderr.
"""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

import harness

VERSION_SOURCE = harness.REPO_ROOT / "Sources" / "Application" / "TickwireVersion.swift"


def run(args: list[str], env: dict[str, str] | None = None, timeout_s: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(harness.tickwire_binary()), *args], capture_output=True, text=True,
                          timeout=timeout_s, env=harness.server_env(env))


def replay_args(path: Path | str = harness.TRADES_FIXTURE) -> list[str]:
    return ["--replay", str(path), "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]


def error_line(result: subprocess.CompletedProcess) -> str:
    """The `Error: …` line swift-argument-parser prints."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert lines, result.stderr
    return lines[0]


@pytest.fixture
def taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("listener, flag", [("gRPC listener", "--listen"), ("metrics listener", "--metrics-listen")])
def test_a_port_in_use_names_the_address_and_the_listener(taken_port, listener, flag):
    args = replay_args()
    args[args.index(flag) + 1] = f"127.0.0.1:{taken_port}"
    result = run(args)
    assert result.returncode == 1, result.stderr
    wanted = f"{listener} ({flag}): bind(127.0.0.1:{taken_port}): Address already in use"
    assert wanted in result.stderr, result.stderr


def test_a_bad_value_from_the_environment_names_the_variable():
    result = run(replay_args(), env={"TICKWIRE_DRAIN_TIMEOUT": "5"})
    assert result.returncode == 64, result.stderr
    line = error_line(result)
    assert "TICKWIRE_DRAIN_TIMEOUT '5' is not a duration" in line, line
    assert "--drain-timeout" not in line, line
    # The same value on the command line is blamed on the flag.
    line = error_line(run(replay_args() + ["--drain-timeout", "5"]))
    assert "--drain-timeout '5' is not a duration" in line, line
    # A value the parser itself refuses names the variable too.
    result = run(replay_args(), env={"TICKWIRE_MAX_CONNECTIONS": "lots"})
    assert result.returncode == 64 and "TICKWIRE_MAX_CONNECTIONS" in error_line(result), result.stderr


@pytest.mark.parametrize("args, env, name", [
    (["--drain-timeout", "-1s"], None, "--drain-timeout '-1s'"),
    (["--drain-timeout=-1s"], None, "--drain-timeout '-1s'"),
    (["--keepalive-time", "-2m"], None, "--keepalive-time '-2m'"),
    ([], {"TICKWIRE_DRAIN_TIMEOUT": "-1s"}, "TICKWIRE_DRAIN_TIMEOUT '-1s'"),
])
def test_a_negative_duration_is_refused_as_such(args, env, name):
    result = run(replay_args() + args, env=env)
    assert result.returncode == 64, result.stderr
    assert error_line(result) == f"Error: {name}: negative durations are not allowed", result.stderr
    assert "Missing value" not in result.stderr, result.stderr


def test_a_missing_replay_file_exits_64_naming_the_flag(tmp_path):
    missing = tmp_path / "no-such-recording.jsonl"
    result = run(replay_args(missing))
    assert result.returncode == 64, result.stderr
    assert error_line(result) == f"Error: --replay '{missing}' cannot be read: No such file or directory"
    result = run(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"], env={"TICKWIRE_REPLAY": str(missing)})
    assert result.returncode == 64 and error_line(result).startswith(f"Error: TICKWIRE_REPLAY '{missing}'"), result.stderr


def test_a_recording_with_no_usable_line_is_an_error(tmp_path):
    recording = tmp_path / "nothing-to-play.jsonl"
    recording.write_text('not json\n{"stream":"x"}\n\n'
                         '{"stream":"bnbusdt@trade","data":{"e":"trade","E":1,"s":"BNBUSDT","t":1,'
                         '"p":"1.0","q":"1.0","T":1,"m":true}}\n')
    result = run(replay_args(recording))
    assert result.returncode == 1, result.stderr
    critical = [line for line in result.stderr.splitlines() if "level=critical" in line]
    assert critical, result.stderr
    assert harness.metadata_str(critical[0], "error") == (
        f"the recording '{recording}' has no trade for the served symbols (3 lines: 1 malformed, "
        "1 trades of other symbols, 1 other frames); a usable line is a trade or aggTrade frame of "
        "Binance's combined stream for a served symbol"), critical[0]
    assert "listening" not in result.stderr


def test_a_bad_boolean_variable_names_itself():
    result = run(replay_args(), env={"TICKWIRE_REPLAY_LOOP": "maybe"})
    assert result.returncode == 64, result.stderr
    assert error_line(result) == "Error: TICKWIRE_REPLAY_LOOP='maybe' must be true or false (or 1 or 0)"


@pytest.mark.parametrize("args, env, loops", [
    (["--no-replay-loop"], {"TICKWIRE_REPLAY_LOOP": "true"}, "false"),
    ([], {"TICKWIRE_REPLAY_LOOP": "true"}, "true"),
    (["--replay-loop"], {"TICKWIRE_REPLAY_LOOP": "false"}, "true"),
    (["--replay-loop", "--no-replay-loop"], None, "false"),  # the last one wins
])
def test_every_boolean_flag_can_be_turned_off_on_the_command_line(start_server, args, env, loops):
    server = start_server(replay=harness.TRADES_FIXTURE, extra=args, env=env)
    _, line = server.log.wait_for(r"replay loaded\"?\s*$", 5.0)
    assert harness.metadata_str(line, "loop") == loops, line


def test_a_replay_that_ends_says_so_in_a_warning(start_server, tmp_path):
    recording = tmp_path / "short.jsonl"
    recording.write_text("".join(harness.TRADES_FIXTURE.read_text().splitlines(keepends=True)[:5]))
    server = start_server(replay=recording)
    _, line = server.log.wait_for(harness.REPLAY_FINISHED_RE, 10.0)
    assert " level=warning " in line, line
    assert "--replay-loop" in harness.metadata_str(line, "next"), line
    assert harness.metadata_int(line, "published") == 5, line


def test_version_prints_the_one_version_constant():
    constant = re.search(r'static let current = "([^"]+)"', VERSION_SOURCE.read_text())
    assert constant, VERSION_SOURCE
    result = run(["--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tickwire {constant.group(1)}", result.stdout
