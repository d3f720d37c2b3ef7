"""pytest wiring for Tickwire's integration tests.

Run from the repository root:
    .venv/bin/python -m pytest Tests/Integration
The binary under test is $TICKWIRE_BIN, default .build/debug/tickwire.
"""

from __future__ import annotations

import itertools
import os

import pytest

import attack_verdict
import harness


def pytest_report_header(config):
    return [f"tickwire binary: {harness.tickwire_binary()}"]


@pytest.fixture(scope="session", autouse=True)
def generated_stubs():
    """Generates the tickwire.v1 stubs into Tests/Integration/gen/ once per session."""
    return harness.ensure_stubs()


@pytest.fixture(scope="session")
def binary():
    path = harness.tickwire_binary()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"tickwire binary not found or not executable: {path} "
                    f"(build it, or set TICKWIRE_BIN)")
    return path


@pytest.fixture(scope="session")
def expected_trades():
    trades = harness.fixture_trades()
    assert len(trades) == harness.FIXTURE_TRADE_COUNT, "trades fixture changed"
    return trades


@pytest.fixture
def start_server(binary, tmp_path):
    """Factory: start_server(argv=None, env=None, wrapper=None, **server_argv kwargs).

    Starts tickwire, waits for `listening` and returns the TickwireServer. Every
    server started through it is stopped (SIGTERM, then SIGKILL) at teardown.
    """
    servers: list[harness.TickwireServer] = []
    counter = itertools.count()

    def start(argv=None, env=None, wrapper=None, wait_listening=True, **kwargs):
        argv = argv if argv is not None else harness.server_argv(**kwargs)
        log_path = tmp_path / f"tickwire-{next(counter)}.stderr.log"
        server = harness.TickwireServer(argv, harness.server_env(env), log_path, wrapper)
        servers.append(server)
        if wait_listening:
            server.wait_listening()
        return server

    yield start
    for server in servers:
        try:
            server.stop()
        except AssertionError:
            pass  # a test that cares about the exit asserts it itself
        server.kill()


@pytest.fixture
def grpc_channels():
    """Factory for channels that are all closed at teardown."""
    opened = []

    def make(target, extra_options=()):
        chan = harness.channel(target, extra_options)
        opened.append(chan)
        return chan

    yield make
    for chan in opened:
        chan.close()


@pytest.fixture
def collectors():
    """Registry of StreamCollectors, all cancelled at teardown."""
    made: list[harness.StreamCollector] = []

    def make(chan, **kwargs):
        collector = harness.StreamCollector(chan, **kwargs)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        collector.cancel(join_s=3)


@pytest.fixture(scope="session")
def attack_replay_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("attack-replay")


@pytest.fixture
def attack_bench(start_server, tmp_path, attack_replay_dir):
    """attack_verdict.AttackBench: a release-suite server under one attack,
    its healthy client and the shared verdict (test_attacks_*.py)."""
    bench = attack_verdict.AttackBench(start_server, tmp_path, attack_replay_dir)
    yield bench
    bench.close()
