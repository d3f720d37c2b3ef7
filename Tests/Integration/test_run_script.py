"""scripts/run.sh: the demo never goes silent, and its first line names the source.

With no arguments, or with arguments that name no data source, run.sh plays
the recorded trades looped (`--replay-loop`); `--replay FILE` (or
TICKWIRE_REPLAY) and `--live` name a source, which it then leaves alone.
`DRY_RUN=1` prints the command it would exec and stops before installing or
building, so these tests take seconds; one of them runs that command (with
the binary under test) and reads past the end of the first pass, which is
what "never goes silent" means without waiting ten minutes.
"""

from __future__ import annotations

import os
import shlex
import subprocess

import harness

RUN_SH = harness.REPO_ROOT / "scripts" / "run.sh"
FIXTURE = "Tests/Fixtures/binance-2024-08-08-btcusdt-ethusdt-trades.jsonl"


def dry_run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    """(exit code, first stderr line, the argv run.sh would exec)."""
    result = subprocess.run(["bash", str(RUN_SH), *args], capture_output=True, text=True, timeout=30,
                            env=harness.server_env({"DRY_RUN": "1", **(env or {})}))
    first = result.stderr.splitlines()[0] if result.stderr else ""
    return result.returncode, first, shlex.split(result.stdout)


def test_no_arguments_loop_the_recording():
    code, first, argv = dry_run()
    assert code == 0, first
    assert "data source: recorded Binance trades" in first and "looped" in first, first
    assert argv[0] == ".build/release/tickwire", argv
    assert argv[1:3] == ["--replay", FIXTURE] and "--replay-loop" in argv, argv


def test_arguments_that_name_no_source_keep_the_looped_replay():
    code, first, argv = dry_run("--listen", "127.0.0.1:50071")
    assert code == 0 and "recorded Binance trades" in first, first
    assert ["--replay", FIXTURE] == argv[1:3] and "--replay-loop" in argv, argv
    assert argv[argv.index("--listen") + 1] == "127.0.0.1:50071", argv


def test_a_loop_choice_of_the_callers_is_kept():
    _, _, argv = dry_run("--no-replay-loop")
    assert "--no-replay-loop" in argv and "--replay-loop" not in argv, argv
    _, _, argv = dry_run(env={"TICKWIRE_REPLAY_LOOP": "false"})
    assert "--replay-loop" not in argv, argv


def test_live_connects_to_binance_and_is_not_passed_on():
    code, first, argv = dry_run("--live", "--symbols", "bnbusdt")
    assert code == 0 and "data source: Binance live" in first, first
    assert "--replay" not in argv and "--live" not in argv and "--replay-loop" not in argv, argv
    assert argv[1:] == ["--symbols", "bnbusdt"], argv


def test_a_named_recording_is_played_as_given():
    for args, env in [(("--replay", "my.jsonl"), None), (("--replay=my.jsonl",), None),
                      ((), {"TICKWIRE_REPLAY": "my.jsonl"})]:
        code, first, argv = dry_run(*args, env=env)
        assert code == 0 and "the recording given by --replay" in first, (args, first)
        assert FIXTURE not in argv and "--replay-loop" not in argv, (args, argv)


def test_live_and_replay_together_are_refused():
    code, first, argv = dry_run("--live", "--replay", "my.jsonl")
    assert code == 64 and "--live and --replay both name a data source" in first, (code, first)
    assert argv == []


def test_the_default_command_keeps_serving_past_the_end_of_the_recording(start_server, grpc_channels,
                                                                         collectors):
    """run.sh's own command line, with the binary under test, at full speed:
    prices keep coming after the recording's last trade."""
    code, _, argv = dry_run("--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                            "--replay-speed", "max", "--replay-wait-streams", "1")
    assert code == 0, argv
    argv = [str(harness.tickwire_binary())] + [str(harness.REPO_ROOT / a) if a == FIXTURE else a for a in argv[1:]]
    server = start_server(argv=argv)
    server.log.wait_for(r"loop=true.*replay loaded", 5.0)
    collector = collectors(grpc_channels(server.target), name="demo", deadline_s=60).start()
    want = harness.FIXTURE_TRADE_COUNT + 2_000  # into the second pass
    assert collector.wait_count(want, 40.0), f"got {collector.count()} of {want}: {collector.describe_end()}"
    assert not server.log.matching(harness.REPLAY_FINISHED_RE), "the looped demo logged `replay finished`"
