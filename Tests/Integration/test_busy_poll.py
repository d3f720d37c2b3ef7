"""--busy-poll: the loop asks its poller (epoll or io_uring) with a zero
timeout every iteration instead of sleeping in it.

A spinning server says so at startup (`busy_poll=on`), serves every price in
order at a paced replay (the pacing is a timer), burns its core while idle
(the flag's documented price, and the proof that it spins), still lets its
drain timer end a SIGTERM's drain on time, and exits 0. Without the flag the
same idle server sleeps. TICKWIRE_BUSY_POLL turns it on like the flag.

Every wait has a deadline; every loop is bounded by a count.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

import harness

RATE = 500     # trades/s, paced by the replay's timer
WANT = 300
DRAIN_S = 1


def paced_argv(extra: list[str]) -> list[str]:
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, wait_streams=1)
    at = argv.index("--replay-speed")  # --replay-rate excludes it
    del argv[at:at + 2]
    return argv + ["--replay-rate", str(RATE), "--drain-timeout", f"{DRAIN_S}s"] + extra


def cpu_seconds(pid: int) -> float:
    """User + system time of `pid` so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_over(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


@pytest.mark.parametrize("io", ["epoll", "io_uring"])
def test_busy_poll_serves_prices_and_stops_on_sigterm(io, start_server, grpc_channels, collectors, expected_trades):
    server = start_server(argv=paced_argv(["--busy-poll", "--io", io]))
    _, listening = server.log.wait_for(harness.LISTENING_RE, 5.0)
    assert harness.metadata_str(listening, "busy_poll") == "on", listening
    # io_uring may be refused here (seccomp, sysctl): then epoll spins, and the warning says why.
    print(f"\n[busy-poll, --io {io}] io={harness.metadata_str(listening, 'io')}")

    collector = collectors(grpc_channels(server.target), name="busy-poll", deadline_s=30).start()
    assert collector.wait_count(WANT, 15.0), f"got {collector.count()} of {WANT}: {collector.describe_end()}"
    trades = [harness.trade_from_update(item.response.price) for item in collector.prices()[:WANT]]
    assert trades == expected_trades[:WANT], harness.first_difference(trades, expected_trades[:WANT])

    # The stream stays open: only the drain timer ends the drain.
    started = time.monotonic()
    returncode = server.stop(signal.SIGTERM, timeout_s=DRAIN_S + 5)
    took_s = time.monotonic() - started
    print(f"[busy-poll, --io {io}] exit {returncode} {took_s:.2f} s after SIGTERM (drain {DRAIN_S} s)")
    assert returncode == 0, server.log.tail()
    assert DRAIN_S * 0.9 <= took_s < DRAIN_S + 3, f"{took_s:.2f} s: the drain timer fired off time"
    assert server.log.matching(r"\bstopped\"?\s*$"), server.log.tail()


def test_an_idle_busy_poller_burns_its_core_and_a_sleeper_does_not(start_server):
    # Held for a stream that never comes: no trades, only the loop's own timers.
    spinning = start_server(argv=paced_argv(["--busy-poll"]))
    spun = cpu_over(spinning.proc.pid, 1.0)
    sleeping = start_server(argv=paced_argv([]))
    slept = cpu_over(sleeping.proc.pid, 1.0)
    print(f"\n[idle for 1 s] CPU with --busy-poll {spun:.2f} s, without {slept:.2f} s")
    # A whole core on an idle machine; at least a share of one on a shared one.
    assert spun >= 0.2, f"--busy-poll used {spun:.2f} s of CPU in 1 s idle: it is not spinning"
    assert slept < 0.1, f"a sleeping idle server used {slept:.2f} s of CPU in 1 s"


def test_the_environment_turns_it_on(start_server):
    server = start_server(argv=paced_argv([]), env={"TICKWIRE_BUSY_POLL": "true"})
    _, listening = server.log.wait_for(harness.LISTENING_RE, 5.0)
    assert harness.metadata_str(listening, "busy_poll") == "on", listening
    quiet = start_server(argv=paced_argv(["--no-busy-poll"]), env={"TICKWIRE_BUSY_POLL": "true"})
    _, listening = quiet.log.wait_for(harness.LISTENING_RE, 5.0)
    assert harness.metadata_str(listening, "busy_poll") == "off", listening
