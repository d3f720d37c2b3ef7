"""A client process killed mid-stream must not disturb the server or other clients."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import harness
from harness import CONNECTION_CLOSED_RE, metadata_int

CLIENT_SCRIPT = harness.INTEGRATION_DIR / "stream_client.py"
CHILD_STREAMS = 3
LOCAL_STREAMS = 2


def start_child(target: str) -> tuple[subprocess.Popen, "queue.Queue[str]"]:
    child = subprocess.Popen(
        [sys.executable, str(CLIENT_SCRIPT), "--target", target, "--streams", str(CHILD_STREAMS),
         "--max-seconds", "60"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, text=True)
    lines: "queue.Queue[str]" = queue.Queue()

    def pump():
        for line in child.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True, name="child-stdout").start()
    return child, lines


def wait_child_line(lines: "queue.Queue[str]", prefix: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    seen = []
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError(f"client process never printed {prefix!r} in {timeout_s}s; it printed {seen}")


def test_sigkilled_client_leaves_other_streams_and_counts_intact(start_server, grpc_channels,
                                                                  collectors, expected_trades):
    # 10x the recorded pace: ~460 trades/s over ~35 s; the replay starts once
    # both clients' streams are open.
    server = start_server(replay=harness.TRADES_FIXTURE, speed="10",
                          wait_streams=LOCAL_STREAMS + CHILD_STREAMS)
    chan = grpc_channels(server.target)
    local = [collectors(chan, name=f"local{i}", deadline_s=90).start() for i in range(LOCAL_STREAMS)]
    child, child_lines = start_child(server.target)
    try:
        wait_child_line(child_lines, "open", 30)
        wait_child_line(child_lines, "ready", 30)
        for collector in local:
            assert collector.wait_count(1, 10), f"{collector.name}: {collector.describe_end()}"
        closed_before = server.log.matching(CONNECTION_CLOSED_RE)
        assert not closed_before, f"connections closed before the kill: {closed_before}"

        mark = server.log.count()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        killed_at = time.monotonic()
        counts_at_kill = [c.count() for c in local]

        _, first_close = server.log.wait_for(CONNECTION_CLOSED_RE, 10.0, since=mark)
        # Let any further close lines for the same connection land, then judge the latest.
        time.sleep(1.0)
        latest = server.log.matching(CONNECTION_CLOSED_RE, since=mark)[-1]
        assert metadata_int(latest, "streams") == LOCAL_STREAMS, (
            f"after the kill {LOCAL_STREAMS} streams are live, server logged: {latest!r}")
        assert metadata_int(latest, "connections") == 1, (
            f"after the kill 1 connection is live, server logged: {latest!r}")

        def kept_flowing() -> bool:
            for collector in local:
                after = [i for i in collector.prices() if i.recv_mono > killed_at]
                if len(after) < 100 or after[-1].recv_mono - after[0].recv_mono < 1.0:
                    return False
            return True

        assert harness.wait_until(kept_flowing, 10.0), (
            f"local streams stalled after the kill: counts at kill {counts_at_kill}, now "
            f"{[c.count() for c in local]}; ends: {[c.describe_end() for c in local]}")
        for collector in local:
            assert not collector.finished, f"{collector.name}: {collector.describe_end()}"
            got = [harness.trade_from_update(i.response.price) for i in collector.prices()]
            assert got == expected_trades[:len(got)], (
                f"{collector.name}: {harness.first_difference(got, expected_trades[:len(got)])}")
        assert server.alive()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)


def test_cancelled_stream_ends_quietly_and_others_continue(start_server, grpc_channels, collectors,
                                                           expected_trades):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="10", wait_streams=3)
    shared = grpc_channels(server.target)
    alone = grpc_channels(server.target)
    keep = collectors(shared, name="keep", deadline_s=90).start()
    cancelled = collectors(shared, name="cancelled", deadline_s=90).start()
    other = collectors(alone, name="other-connection", deadline_s=90).start()
    for collector in (keep, cancelled, other):
        assert collector.wait_count(20, 20), f"{collector.name}: {collector.describe_end()}"

    cancelled.cancel()
    cancelled_at = time.monotonic()
    assert cancelled.finished, "cancelled stream's reader did not finish"

    def flowing_since_cancel() -> bool:
        return all(len([i for i in c.prices() if i.recv_mono > cancelled_at]) >= 100
                   for c in (keep, other))

    assert harness.wait_until(flowing_since_cancel, 10.0), (
        f"streams stalled after a sibling was cancelled: keep={keep.describe_end()} "
        f"other={other.describe_end()}")
    assert not server.log.matching(CONNECTION_CLOSED_RE), (
        "cancelling one stream closed a connection: "
        f"{server.log.matching(CONNECTION_CLOSED_RE)}")

    # Closing a whole connection is what the `connection closed` line reports.
    mark = server.log.count()
    other.cancel()
    alone.close()
    server.log.wait_for(CONNECTION_CLOSED_RE, 10.0, since=mark)
    time.sleep(0.5)
    latest = server.log.matching(CONNECTION_CLOSED_RE, since=mark)[-1]
    assert (metadata_int(latest, "connections"), metadata_int(latest, "streams")) == (1, 1), latest

    mark = server.log.count()
    keep.cancel()
    shared.close()
    server.log.wait_for(CONNECTION_CLOSED_RE, 10.0, since=mark)
    time.sleep(0.5)
    latest = server.log.matching(CONNECTION_CLOSED_RE, since=mark)[-1]
    assert (metadata_int(latest, "connections"), metadata_int(latest, "streams")) == (0, 0), latest
    assert server.alive()
    for collector in (keep, other):
        got = [harness.trade_from_update(i.response.price) for i in collector.prices()]
        assert got == expected_trades[:len(got)], harness.first_difference(got, expected_trades[:len(got)])
