"""`--io io_uring`: the same contracts as on epoll, and the fallback to epoll.

The server-behaviour checks reuse the epoll suite's scenarios unchanged (full
replay fan-out, a stalled reader, a SIGKILLed client, a SIGTERM drain): this
module's `start_server` adds `--io io_uring` to every server and checks that
its startup log names io_uring, so a silent fallback cannot pass for a test of
io_uring. The fallback tests run the server under a seccomp filter that makes
io_uring_setup fail (without_io_uring.py), as Docker's and containerd's
default profiles do.
"""

from __future__ import annotations

import platform
import re
import sys
import time

import pytest

import harness
import test_bad_input
import test_client_death
import test_flush_linger
import test_grpc_tls
import test_replay_fanout
import test_shutdown
import test_slow_consumers
from test_grpc_tls import pki  # noqa: F401  (the module's fixture, for the TLS test below)

sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
import tw_load  # noqa: E402

WITHOUT_IO_URING = harness.INTEGRATION_DIR / "without_io_uring.py"
FALLBACK_RE = re.compile(r"\bwarning\b.*\breason=\"?io_uring_setup: (?P<why>.*?) \(errno \d+\).*"
                         r"io_uring unavailable; falling back to epoll\"?\s*$")


def backend_of(server: harness.TickwireServer) -> str:
    return listening_metadata(server, "io")


def sends_of(server: harness.TickwireServer) -> str:
    """How h2c connections write: "io_uring" (one batch per iteration) or "sendmsg"."""
    return listening_metadata(server, "sends")


def listening_metadata(server: harness.TickwireServer, key: str) -> str:
    lines = server.log.matching(harness.LISTENING_RE)
    assert lines, f"no listening line; log:\n{server.log.tail()}"
    return harness.metadata_str(lines[0], key)


@pytest.fixture
def start_server(start_server):
    """The suite's factory, with `--io io_uring` on every server it starts."""
    def start(argv=None, wait_listening=True, **kwargs):
        if argv is None:
            kwargs["extra"] = list(kwargs.get("extra", ())) + ["--io", "io_uring"]
            tls = "--tls-cert" in kwargs["extra"]
        else:
            argv = list(argv) + ["--io", "io_uring"]
            tls = "--tls-cert" in argv
        server = start_server(argv=argv, wait_listening=wait_listening, **kwargs)
        if wait_listening:
            assert backend_of(server) == "io_uring", server.log.tail()
            assert sends_of(server) == ("SSL_write" if tls else "io_uring"), server.log.tail()
            assert not server.log.matching(FALLBACK_RE), server.log.tail()
        return server
    return start


def test_replay_reaches_five_streams_exactly_and_in_order(start_server, grpc_channels, collectors,
                                                          expected_trades):
    test_replay_fanout.test_five_streams_receive_every_trade_in_file_order(
        start_server, grpc_channels, collectors, expected_trades)


def test_replay_reaches_streams_multiplexed_on_one_connection(start_server, grpc_channels, collectors,
                                                              expected_trades):
    test_replay_fanout.test_streams_multiplexed_on_one_connection_each_get_everything(
        start_server, grpc_channels, collectors, expected_trades)


def test_stalled_reader_is_conflated_then_ended(start_server, grpc_channels, collectors, tmp_path):
    test_slow_consumers.test_stalled_reader_is_conflated_then_ended_while_others_get_everything(
        start_server, grpc_channels, collectors, tmp_path)


def test_sigkilled_client_leaves_the_others_intact(start_server, grpc_channels, collectors, expected_trades):
    test_client_death.test_sigkilled_client_leaves_other_streams_and_counts_intact(
        start_server, grpc_channels, collectors, expected_trades)


def test_sigterm_drains_the_readers(start_server, grpc_channels, collectors, expected_trades):
    test_shutdown.test_sigterm_drains_twenty_readers(start_server, grpc_channels, collectors, expected_trades)


# The batched sends' other paths: a drain's trailers and GOAWAYs written in the
# same iteration; a socket that never drains (the write-idle close); a TLS
# listener on io_uring, whose connections write through SSL_write instead;
# --flush-linger's windows, whose writes are all batched at once; and more
# connections than one submission takes (UringSendBatch's capacity, 1,024).

def test_stopping_writes_trailers_at_once(start_server, grpc_channels, collectors):
    test_shutdown.test_stopping_writes_its_trailers_without_waiting_for_a_timer(
        start_server, grpc_channels, collectors)


def test_unread_connection_is_closed_once_its_socket_is_full(start_server, grpc_channels, collectors, tmp_path):
    test_bad_input.test_unread_connection_is_closed_once_its_socket_is_full(
        start_server, grpc_channels, collectors, tmp_path)


def test_tls_client_receives_every_trade(start_server, collectors, expected_trades, pki):  # noqa: F811
    test_grpc_tls.test_tls_client_receives_every_trade(start_server, collectors, expected_trades, pki)


def test_lingering_windows_leave_in_one_write_each(start_server, grpc_channels, collectors, expected_trades):
    test_flush_linger.test_prices_leave_in_one_write_per_window(
        start_server, grpc_channels, collectors, expected_trades)


# --------------------------------------------------------------------------
# Fallback: io_uring forbidden by seccomp
# --------------------------------------------------------------------------

needs_x86_64 = pytest.mark.skipif(platform.machine() != "x86_64",
                                  reason="without_io_uring.py knows x86_64's syscall numbers only")


def forbidding(code: str) -> list[str]:
    return [sys.executable, str(WITHOUT_IO_URING), "--errno", code, "--"]


@needs_x86_64
@pytest.mark.parametrize("code, why", [("EPERM", "Operation not permitted"),
                                       ("ENOSYS", "Function not implemented")])
def test_forbidden_io_uring_falls_back_to_epoll_and_serves(binary, tmp_path, grpc_channels, collectors,
                                                            expected_trades, code, why):
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1,
                               extra=["--io", "io_uring"])
    server = harness.TickwireServer(argv, harness.server_env(), tmp_path / "fallback.log",
                                    wrapper=forbidding(code))
    try:
        server.wait_listening()
        assert backend_of(server) == "epoll"
        assert sends_of(server) == "sendmsg"
        warnings = server.log.matching(FALLBACK_RE)
        assert len(warnings) == 1, server.log.tail()
        assert FALLBACK_RE.search(warnings[0]).group("why") == why, warnings[0]
        streams = test_replay_fanout.collect_full_replay(server, grpc_channels, collectors, [1])
        test_replay_fanout.assert_stream_got_exactly(streams[0], expected_trades, server)
        assert server.stop() == 0, server.log.tail()
    finally:
        server.kill()


@needs_x86_64
def test_epoll_is_untouched_by_the_filter_and_says_nothing(binary, tmp_path):
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, extra=["--io", "epoll"])
    server = harness.TickwireServer(argv, harness.server_env(), tmp_path / "epoll.log",
                                    wrapper=forbidding("EPERM"))
    try:
        server.wait_listening()
        assert backend_of(server) == "epoll"
        assert not server.log.matching("io_uring"), server.log.tail()
        assert server.stop() == 0, server.log.tail()
    finally:
        server.kill()


def test_environment_selects_io_uring(binary, tmp_path):
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE)
    server = harness.TickwireServer(argv, harness.server_env({"TICKWIRE_IO": "io_uring"}),
                                    tmp_path / "env.log")
    try:
        server.wait_listening()
        assert backend_of(server) == "io_uring"
        assert server.stop() == 0, server.log.tail()
    finally:
        server.kill()


def test_unknown_backend_is_refused(binary):
    import subprocess
    out = subprocess.run([str(binary), "--io", "kqueue"], capture_output=True, text=True, timeout=30,
                         env=harness.server_env())
    assert out.returncode != 0
    assert "--io 'kqueue' is not epoll or io_uring" in out.stderr, out.stderr


def test_more_connections_than_one_submission_takes(start_server, tmp_path):
    """1,100 connections with a stream each: every iteration's writes need two
    io_uring submissions, and every stream still gets every price."""
    connections = 1100
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, wait_streams=connections,
                               extra=["--max-connections", "2048"])
    at = argv.index("--replay-speed")
    argv[at:at + 2] = ["--replay-rate", "500"]
    server = start_server(argv=argv)
    report_path = tmp_path / "tw-load.json"
    client = tw_load.spawn(tw_load.ensure_built(), server.target, connections=connections, streams=connections,
                           indicators=0, duration_s=60, json_path=report_path)
    try:
        server.log.wait_for(harness.REPLAY_FINISHED_RE, 90.0)
        time.sleep(1.0)  # the last flush reaches tw-load's sockets
        report, _ = tw_load.stop(client, report_path)
    finally:
        if client.poll() is None:
            client.kill()
    want = harness.FIXTURE_TRADE_COUNT
    prices = [row[tw_load.ROW_PRICES] for row in report["stream_rows"]]
    print(f"\n[io_uring, {connections} connections] prices per stream {min(prices)}..{max(prices)} of {want}")
    assert len(prices) == connections
    assert min(prices) == max(prices) == want, (min(prices), max(prices), want)
    assert report["errors"] == 0 and report["malformed"] == 0 and report["connections_lost"] == 0, report["ends"]
