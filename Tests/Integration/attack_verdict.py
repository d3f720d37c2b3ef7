"""The one verdict every issue-20 attack gets (test_attacks_*.py).

A server replays a looped copy of the trades fixture at exactly
HEALTHY_TRADES_PER_S (`--replay-rate`; the recorded pace would average that at
~43.6x but in bursts). A healthy client reads StreamPrices in its own process
(healthy_client.py). Each run has a warm-up, a quiet window, then the attack
window, on one server; the verdict then asserts:

- the server is alive;
- the healthy client got every trade, in order, against the replay file, up
  to the end of the attack window and without its stream ending (0 gaps);
- its p99 ingest-to-receive latency over the trades published during the
  attack is at most max(2 x quiet p99, quiet p99 + 20 ms);
- the server's peak RSS, sampled every 20 ms, stays within the queued-bytes
  budget it logs at startup plus RSS_BASELINE_BYTES.

The attack callable runs for a bounded time (at least ATTACK_MIN_S, so that
the attack's p99 stands on as many trades as the quiet one) and returns what
its test checks afterwards (the per-attack extras).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness

HEALTHY_TRADES_PER_S = 2000
# Trades before the quiet window are not measured: the stream's start, the
# client's first allocations.
WARMUP_S = 1.0
# 3 s at 2,000 trades/s: 6,000 latencies, so the p99 is the 60th largest, not
# one scheduler hiccup of a shared machine.
QUIET_S = 3.0
ATTACK_MIN_S = 3.0
# No attack may take longer (the memory attack, the longest, takes ~15 s).
ATTACK_MAX_S = 60.0
# The attacker's priority (run_niced): lower than the server's and the healthy
# client's, never higher than anyone else's on the machine.
ATTACKER_NICE = 10
# The healthy client goes on this long after the attack, so that every trade
# published during it has had time to arrive.
SETTLE_S = 0.5
LATENCY_FACTOR = 2.0
LATENCY_SLACK_MS = 20.0
# What the server holds besides queued messages: the process, its slots, the
# indicator pool, the mapped replay file, the attackers' connections and
# streams. A quiet release server reading this replay (~21 MiB of it) to one
# client measured 47.3-50.7 MiB of RSS (26 MiB without the file: issue 20's
# 28 MiB; TLS adds ~3 MiB); 64 MiB is that with a quarter to spare.
RSS_BASELINE_BYTES = 64 * 1024 * 1024
BUDGET_RE = r"\bqueued-bytes budget\"?\s*$"
# Long enough for the longest test (the memory attack: ~30 s) with margin; the
# file (8 copies, ~21 MiB) is in the server's RSS.
REPLAY_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class Replay:
    path: Path
    trades: list  # harness.Trade, in file order


_replay_cache: dict[int, Replay] = {}


def looped_replay(directory: Path, seconds: float = REPLAY_SECONDS) -> Replay:
    """The fixture looped (ids and times shifted per copy, bench/load's
    looped_replay) to last `seconds` at HEALTHY_TRADES_PER_S; made once per
    session."""
    copies = math.ceil(seconds * HEALTHY_TRADES_PER_S / harness.FIXTURE_TRADE_COUNT)
    if copies not in _replay_cache:
        sys.path.insert(0, str(harness.REPO_ROOT / "bench" / "load"))
        from fanout_soak import looped_replay as write_looped
        path = write_looped(copies, directory)
        _replay_cache[copies] = Replay(path, harness.trades_in(path.read_text().splitlines()))
    return _replay_cache[copies]


def server_argv(replay: Replay, extra=(), log_level: str = "info") -> list[str]:
    """Flags for a paced, healthy-first server: the replay starts when the
    first stream (the healthy client's) registers. `info`, as deployed, unless
    a test checks a debug line."""
    argv = harness.server_argv(replay=replay.path, wait_streams=1, log_level=log_level, extra=extra)
    at = argv.index("--replay-speed")
    del argv[at:at + 2]  # --replay-rate excludes it
    return argv + ["--replay-rate", str(HEALTHY_TRADES_PER_S)]


class RSSSampler:
    """The server's VmRSS every 20 ms on a thread: the peak, and the peak
    since the last mark()."""

    def __init__(self, server) -> None:
        self.server = server
        self.peak_kib = 0
        self.window_peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):  # bounded by stop()
            rss = self.server.rss_kib()
            if rss is None:
                return
            self.peak_kib = max(self.peak_kib, rss)
            self.window_peak_kib = max(self.window_peak_kib, rss)
            self.samples += 1

    def mark(self) -> int:
        """The window's peak so far; starts a new window."""
        peak, self.window_peak_kib = self.window_peak_kib, 0
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def runqueue_wait_ns(pid: int) -> int:
    """Time the process's threads spent runnable but waiting for a CPU
    (/proc/PID/task/*/schedstat, second field): how much a shared machine
    held it back."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            pass  # a thread that just ended
    return total


def cpu_pressure_us() -> int:
    """The machine's cumulative CPU pressure (PSI `some` total, µs); 0 without PSI."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return int(some.rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return 0


@dataclasses.dataclass(frozen=True)
class CPUWait:
    """Cumulative CPU waits at one instant: server, healthy client, machine."""
    server_ns: int
    client_ns: int
    pressure_us: int
    at_ns: int

    @classmethod
    def now(cls, server_pid: int, client_pid: int) -> "CPUWait":
        return cls(runqueue_wait_ns(server_pid), runqueue_wait_ns(client_pid), cpu_pressure_us(), time.time_ns())

    def since(self, start: "CPUWait") -> str:
        window_us = max(1, (self.at_ns - start.at_ns) // 1000)
        return (f"server {(self.server_ns - start.server_ns) / 1e6:.0f} ms, client "
                f"{(self.client_ns - start.client_ns) / 1e6:.0f} ms, machine pressure "
                f"{100 * (self.pressure_us - start.pressure_us) / window_us:.0f}%")


class HealthyReader:
    """healthy_client.py as a child process; stop() returns its prices."""

    def __init__(self, target: str, out: Path, ca: Path | None = None, max_s: float = 120.0) -> None:
        self.out = out
        argv = [sys.executable, str(harness.INTEGRATION_DIR / "healthy_client.py"), "--target", target,
                "--out", str(out), "--max-seconds", str(max_s)]
        if ca is not None:
            argv += ["--ca", str(ca)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_ready(self, timeout_s: float = 15.0) -> None:
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        assert ready and ready[0].strip() == "ready", (
            f"the healthy client got no price within {timeout_s}s (exit code {self.proc.poll()})")

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("the healthy client did not stop within 15 s") from None
        assert self.proc.returncode == 0, f"the healthy client exited with {self.proc.returncode}"
        return json.loads(self.out.read_text())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclasses.dataclass
class Figures:
    name: str
    quiet_p99_ms: float
    quiet_trades: int
    attack_p99_ms: float
    attack_max_ms: float
    attack_trades: int
    attack_s: float
    quiet_rss_kib: int
    peak_rss_kib: int
    budget_bytes: int
    quiet_lag_p99_ms: float
    attack_lag_p99_ms: float
    cpu_waits: str = ""

    @property
    def latency_bound_ms(self) -> float:
        return max(LATENCY_FACTOR * self.quiet_p99_ms, self.quiet_p99_ms + LATENCY_SLACK_MS)

    @property
    def rss_budget_kib(self) -> int:
        return (self.budget_bytes + RSS_BASELINE_BYTES) // 1024

    def line(self) -> str:
        return (f"[{self.name}] quiet p99 {self.quiet_p99_ms:.2f} ms over {self.quiet_trades} trades; "
                f"attack p99 {self.attack_p99_ms:.2f} ms (max {self.attack_max_ms:.2f}) over "
                f"{self.attack_trades} trades in {self.attack_s:.1f} s, bound {self.latency_bound_ms:.2f} ms; "
                f"RSS quiet {self.quiet_rss_kib / 1024:.1f} MiB, peak {self.peak_rss_kib / 1024:.1f} MiB, "
                f"budget {self.rss_budget_kib / 1024:.0f} MiB (queued {self.budget_bytes / 2**20:.0f} MiB "
                f"+ baseline {RSS_BASELINE_BYTES / 2**20:.0f} MiB); schedule lag p99 quiet "
                f"{self.quiet_lag_p99_ms:.2f} ms, attack {self.attack_lag_p99_ms:.2f} ms")


@dataclasses.dataclass
class Run:
    """One server under one attack, with what the verdict measured."""
    server: object
    replay: Replay
    budget_bytes: int
    result: object = None
    figures: Figures | None = None


class AttackBench:
    """The `attack_bench` fixture (conftest.py): start(...) a server and its
    healthy client, then verdict(name, attack)."""

    def __init__(self, start_server, tmp_path: Path, replay_dir: Path) -> None:
        self._start_server = start_server
        self._tmp = tmp_path
        self._replay_dir = replay_dir
        self._readers: list[HealthyReader] = []
        self._samplers: list[RSSSampler] = []
        self.server = None
        self.replay: Replay | None = None
        self.budget_bytes = 0
        self._reader: HealthyReader | None = None
        self._rss: RSSSampler | None = None

    def start(self, extra=(), ca: Path | None = None, log_level: str = "info"):
        """Starts the server and its healthy client; returns the server."""
        self.replay = looped_replay(self._replay_dir)
        self.server = self._start_server(argv=server_argv(self.replay, extra, log_level))
        _, line = self.server.log.wait_for(BUDGET_RE, 5.0)
        self.budget_bytes = harness.metadata_int(line, "bytes")
        self._rss = RSSSampler(self.server)
        self._samplers.append(self._rss)
        self._reader = HealthyReader(self.server.target, self._tmp / "healthy.json", ca=ca)
        self._readers.append(self._reader)
        self._reader.wait_ready()
        return self.server

    def verdict(self, name: str, attack, judge_latency: bool = True) -> Run:
        """Quiet window, then `attack()`; asserts the shared checks, prints
        the figures and returns the Run (with the attack's result).
        `judge_latency=False` leaves the p99 bound to the caller's
        check_latency(run.figures), after its own checks."""
        server, rss = self.server, self._rss
        pids = (server.proc.pid, self._reader.proc.pid)
        time.sleep(WARMUP_S)
        quiet_from = time.time_ns()
        waits = [CPUWait.now(*pids)]
        rss.mark()
        time.sleep(QUIET_S)
        quiet_rss = rss.mark()
        attack_from = time.time_ns()
        waits.append(CPUWait.now(*pids))
        result = run_niced(attack)
        attack_to = time.time_ns()
        waits.append(CPUWait.now(*pids))
        attack_rss = rss.mark()
        time.sleep(SETTLE_S)
        alive = server.alive()
        data = self._reader.stop()
        rss.stop()

        quiet = latencies_ms(data["prices"], quiet_from, attack_from)
        attacked = latencies_ms(data["prices"], attack_from, attack_to)
        quiet_lag = schedule_lags_ms(data["prices"], quiet_from, attack_from)
        attack_lag = schedule_lags_ms(data["prices"], attack_from, attack_to)
        figures = Figures(name, p99(quiet) if quiet else math.nan, len(quiet),
                          p99(attacked) if attacked else math.nan, max(attacked, default=math.nan),
                          len(attacked), (attack_to - attack_from) / 1e9, quiet_rss,
                          max(quiet_rss, attack_rss), self.budget_bytes,
                          p99(quiet_lag) if quiet_lag else math.nan, p99(attack_lag) if attack_lag else math.nan,
                          f"quiet window {waits[1].since(waits[0])}; attack window {waits[2].since(waits[1])}")
        print("\n" + figures.line())
        print(f"[{name}] waiting for a CPU: {figures.cpu_waits}")
        assert alive, f"[{name}] the server exited: {server.log.tail()}"
        check_no_gaps(name, data, self.replay.trades, attack_to)
        assert len(quiet) >= QUIET_S * HEALTHY_TRADES_PER_S * 0.5, f"[{name}] quiet window: {len(quiet)} trades"
        assert attacked, f"[{name}] no trade was published during the attack"
        assert figures.peak_rss_kib <= figures.rss_budget_kib, (
            f"[{name}] peak RSS {figures.peak_rss_kib} KiB is over {figures.rss_budget_kib} KiB")
        run = Run(server, self.replay, self.budget_bytes, result, figures)
        if judge_latency:
            check_latency(figures)
        return run

    def close(self) -> None:
        for reader in self._readers:
            reader.kill()
        for sampler in self._samplers:
            sampler.stop()


class LatencyOverBound(AssertionError):
    """The healthy client's p99 over the issue's bound (its own type, so that
    an xfail for it lets every other check fail the test)."""


def check_latency(figures: Figures, schedule: bool = False) -> None:
    """p99 ingest-to-receive during the attack <= max(2 x quiet, quiet + 20 ms).
    `schedule`: the same bound on the schedule lag (receive time against when
    the trade was due), which a stalled loop cannot hide from."""
    name = figures.name
    if figures.attack_p99_ms > figures.latency_bound_ms:
        raise LatencyOverBound(
            f"[{name}] healthy p99 {figures.attack_p99_ms:.2f} ms during the attack is over "
            f"max({LATENCY_FACTOR:g} x {figures.quiet_p99_ms:.2f}, {figures.quiet_p99_ms:.2f} + "
            f"{LATENCY_SLACK_MS:g}) ms; waiting for a CPU: {figures.cpu_waits}")
    lag_bound = max(LATENCY_FACTOR * figures.quiet_lag_p99_ms, figures.quiet_lag_p99_ms + LATENCY_SLACK_MS)
    if schedule and figures.attack_lag_p99_ms > lag_bound:
        raise LatencyOverBound(
            f"[{name}] healthy schedule lag p99 {figures.attack_lag_p99_ms:.2f} ms during the attack is over "
            f"{lag_bound:.2f} ms (quiet {figures.quiet_lag_p99_ms:.2f} ms): the loop fell behind; "
            f"waiting for a CPU: {figures.cpu_waits}")


def run_niced(attack):
    """`attack()` on a thread at nice ATTACKER_NICE (its own threads inherit
    it), returning its result or raising its error. A real attacker is on
    another machine; on these 2 shared cores the test's own attacker (h2 in
    Python: the indicator-pool client alone takes a core) otherwise competes
    with the server and the healthy client for CPU, and a client held back
    ~100 ms puts the p99 past +20 ms whatever the server does. The attacker
    still has every cycle they leave idle."""
    outcome: dict = {}

    def run() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ATTACKER_NICE)  # this thread only
        try:
            outcome["result"] = attack()
        except BaseException as error:  # noqa: B902 - re-raised on the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True, name="attacker")
    thread.start()
    thread.join(ATTACK_MAX_S)
    assert not thread.is_alive(), f"the attack did not end within {ATTACK_MAX_S} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def latencies_ms(prices: list, from_ns: int, to_ns: int) -> list[float]:
    """Ingest-to-receive latencies of the trades the server published in [from, to)."""
    return [(p[7] - p[6]) / 1e6 for p in prices if from_ns <= p[6] < to_ns]


def schedule_lags_ms(prices: list, from_ns: int, to_ns: int) -> list[float]:
    """Receive time against when each trade was due, for the trades due in
    [from, to): printed, not judged (issue 20 bounds ingest-to-receive). The
    ingest stamp is taken when the loop gets to a trade, so a stalled loop
    hides in it; at a fixed rate trade n is due 1/rate after trade n-1,
    counted from the first trade's stamp, and a stall shows here."""
    if not prices:
        return []
    origin_ns, step_ns = prices[0][6], 1e9 / HEALTHY_TRADES_PER_S
    lags = []
    for index, p in enumerate(prices):
        due_ns = origin_ns + index * step_ns
        if from_ns <= due_ns < to_ns:
            lags.append((p[7] - due_ns) / 1e6)
    return lags


def check_no_gaps(name: str, data: dict, expected: list, through_ns: int) -> None:
    """Every trade, in order, exactly as the replay file has it, up to (and
    past) the end of the attack; the stream still open."""
    got = [harness.Trade(symbol=p[0], price=p[1], quantity=p[2], trade_id=p[3], trade_time_ms=p[4],
                         event_time_ms=p[5]) for p in data["prices"]]
    assert not data["finished"], f"[{name}] the healthy stream ended: {data['end']}"
    assert got == expected[:len(got)], f"[{name}] healthy client: {harness.first_difference(got, expected)}"
    assert len(got) < len(expected), f"[{name}] the replay ran out; make REPLAY_SECONDS longer"
    assert got and data["prices"][-1][6] >= through_ns, (
        f"[{name}] the healthy client's last trade was published before the attack ended "
        f"({len(got)} trades): the stream stalled")


def run_for(seconds: float, once, rounds: int) -> list:
    """Calls `once()` up to `rounds` times, spread over `seconds` (one start
    every seconds/rounds at most): a one-shot attack kept up for a window."""
    results, started = [], time.monotonic()
    for index in range(rounds):  # bounded by the count and by `seconds`
        now = time.monotonic()
        if now - started >= seconds:
            break
        time.sleep(max(0.0, started + index * seconds / rounds - now))
        results.append(once())
    return results
