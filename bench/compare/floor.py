"""The kernel's floor in the same run (issue 22, item 5): bench/floor/
loopback_floor.c sends one 80-byte record per trade to each of C loopback
connections from one thread, with a spinning reader on the client's CPU, and
prints the latency over every (trade, connection) pair. run.py builds it with
`cc -O2`, runs it once per scenario whose shape it models, and shows every
server's p50/p99 as a multiple of the floor's. Optional: a failed build or run
is reported and the servers' runs go on without it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import meter
from scenarios import Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT / "bench" / "floor" / "loopback_floor.c"
BINARY = REPO_ROOT / ".build-floor" / "loopback_floor"
# loopback_floor.c's own bounds (its --connections, --rate and --seconds).
MAX_CONNECTIONS, MAX_RATE, MAX_SECONDS = 4096, 100_000, 120


def build() -> tuple[Path | None, str]:
    """The binary, rebuilt when older than its source; or None and why not."""
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY, "cached"
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    argv = ["cc", "-O2", "-o", str(BINARY), str(SOURCE), "-lpthread"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"`{' '.join(argv)}` could not run: {error}"
    if done.returncode != 0:
        return None, f"`{' '.join(argv)}` failed (exit {done.returncode}): {done.stderr.strip()[:300]}"
    return BINARY, "built"


def applies(scenario: Scenario) -> bool:
    """The floor models one stream per connection at a fixed rate: one record
    per trade per connection. Scenarios with several streams per connection
    (fanout, indicators), the unpaced burst, and more connections than the
    program takes (capacity's 10,000) are a different shape."""
    return (scenario.trades_per_s is not None and scenario.streams == scenario.connections
            and scenario.connections <= MAX_CONNECTIONS and scenario.trades_per_s <= MAX_RATE)


def run(binary: Path, scenario: Scenario, sender_cpu: int, reader_cpu: int, realtime: bool) -> dict:
    """One floor run in the scenario's shape, for its hold: the sender on the
    server's CPU, the reader on tw-load's. With --realtime it gets the spinning
    tw-load's nice -20, not SCHED_RR: throttling would stop its spinning reader."""
    seconds = max(1, min(MAX_SECONDS, round(scenario.hold_s)))
    argv = [*(["nice", "-n", "-20"] if realtime else []), str(binary),
            "--connections", str(scenario.connections), "--rate", f"{scenario.trades_per_s:.0f}",
            "--seconds", str(seconds), "--sender-cpu", str(sender_cpu), "--reader-cpu", str(reader_cpu)]
    result = {"kind": "floor", "scenario": scenario.name, "connections": scenario.connections,
              "offered_trades_per_s": scenario.trades_per_s, "seconds": seconds}
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as error:
        return {**result, "failed": f"loopback_floor: {error}"}
    # Other load on the shared machine disturbs the floor as much as a server: metered the same way.
    hold = meter.HoldMeter(proc.pid, [])
    try:
        # The program bounds its own waits by --seconds plus 5 s.
        stdout, stderr = proc.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {**result, "failed": f"loopback_floor did not end within {seconds + 30} s"}
    cpu = hold.read()
    # The floor's reader spins a whole core, so the machine's busy time minus
    # ours saturates near zero; the busiest other processes' own shares do not.
    named = sum(float(b.rsplit(" ", 1)[1].rstrip("%")) / 100 for b in cpu["busiest_others"])
    result["others_cpu_share"] = round(max(cpu["other_cpu"], named), 3)
    result["busiest_others"] = cpu["busiest_others"]
    line = next((l for l in stdout.splitlines() if l.startswith("{")), None)
    if line is None:
        return {**result, "failed": f"loopback_floor exit {proc.returncode}: {stderr.strip()[:300]}"}
    measured = json.loads(line)
    result.update(measured)
    result["latency_ms"] = {k: round(v / 1000, 4) for k, v in measured["latency_us"].items()}
    if proc.returncode != 0:
        # Exit 1: fewer records read than sent (short sends, or the reader fell behind).
        result["notes"] = [f"exit {proc.returncode}: {measured['records']} of {measured['expected']} records read"]
    return result


def multiples(server_result: dict, floor: dict | None) -> dict | None:
    """The server's p50 and p99 as multiples of the floor's, or None."""
    if floor is None or "latency_ms" not in floor or "latency_ms" not in server_result:
        return None
    out = {}
    for key in ("p50", "p99"):
        base = floor["latency_ms"][key]
        out[key] = round(server_result["latency_ms"][key] / base, 2) if base > 0 else None
    return out


def summary(floor: dict) -> str:
    head = f"[loopback floor / {floor['scenario']}] one 80-byte send() per trade to each of " \
           f"{floor['connections']} connections, {floor['offered_trades_per_s']:g} trades/s, {floor['seconds']} s"
    if "failed" in floor:
        return f"{head}\n  FAILED: {floor['failed']}\n"
    lat = floor["latency_ms"]
    return (f"{head}\n  Latency over {floor['records']} records: p50 {lat['p50']:.3f} ms, p90 {lat['p90']:.3f}, "
            f"p99 {lat['p99']:.3f}, p99.9 {lat['p999']:.3f}, max {lat['max']:.3f}\n"
            f"  Sender: {floor['sender_cpu_ns_per_record']:,.0f} ns CPU per record, "
            f"{floor['sender_cpu_share'] * 100:.0f}% of a core\n"
            f"  Machine: other processes ~{floor['others_cpu_share'] * 100:.0f}%"
            + (f" ({', '.join(floor['busiest_others'])})" if floor["busiest_others"] else "")
            + ("\n  WARNING: other load ran meanwhile; the floor is noisy, and so is every multiple of it"
               if floor["others_cpu_share"] > 0.10 else "")
            + "".join(f"\n  NOTE: {n}" for n in floor.get("notes", [])) + "\n")
