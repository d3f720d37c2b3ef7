"""Process lifecycle: startup on an ephemeral port, clean exit on SIGTERM and SIGINT."""

from __future__ import annotations

import signal

import pytest

import harness


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero_with_streams_open(start_server, grpc_channels, collectors, signum):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="10", wait_streams=1)
    collector = collectors(grpc_channels(server.target), name="open", deadline_s=60).start()
    assert collector.wait_count(10, 15), collector.describe_end()
    rc = server.stop(signum, timeout_s=10)
    assert rc == 0, f"exit code {rc} after {signum.name}; log tail:\n{server.log.tail()}"


def test_two_servers_get_distinct_ephemeral_ports(start_server):
    first = start_server(replay=harness.TRADES_FIXTURE, speed="1", wait_streams=0)
    second = start_server(replay=harness.TRADES_FIXTURE, speed="1", wait_streams=0)
    assert first.port != second.port
    assert first.alive() and second.alive()
