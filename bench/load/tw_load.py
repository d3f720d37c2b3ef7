"""Driving tw-load (bench/loadclient, the C load client) from the Python load scripts.

tw-load reads every message of every stream at a small CPU cost, so the
figures it reports are the server's rather than the reader's. This module
builds it when missing, starts it, waits for its `ready` line, stops it
(SIGUSR1) and turns its JSON report and probe recording into the shapes the
soaks already use.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = REPO_ROOT / "bench" / "loadclient"
DEFAULT_BINARY = REPO_ROOT / ".build-loadclient" / "tw-load"
STOP_SIGNAL = signal.SIGUSR1

# Column order of tw-load's "stream_rows" (report.c, write_streams).
ROW_INDEX, ROW_PRICES, ROW_BATCHES, ROW_UPDATES, ROW_OK, ROW_NOT_OK, ROW_SHUTDOWNS, ROW_END, \
    ROW_END_CODE, ROW_ENDED_EARLY = range(10)


def ensure_built(binary: Path | None = None) -> Path:
    """The tw-load binary; `make` runs when it is missing or older than a source."""
    binary = binary or DEFAULT_BINARY
    sources = list(SOURCE_DIR.glob("*.[ch]")) + [SOURCE_DIR / "Makefile"]
    if binary == DEFAULT_BINARY and (not binary.exists() or
                                     max(p.stat().st_mtime for p in sources) > binary.stat().st_mtime):
        subprocess.run(["make", "-s", "-C", str(SOURCE_DIR)], check=True, timeout=120)
    if not binary.exists():
        raise FileNotFoundError(f"no tw-load at {binary}: make -C bench/loadclient")
    return binary


def spawn(binary: Path, target: str, connections: int, streams: int, indicators: int, duration_s: float,
          json_path: Path, record_path: Path | None = None, probe_streams: int = 0,
          sample_every: int = 100, cpu: int | None = None, stalled_streams: int = 0,
          warmup_s: float = 0.0, busy_poll: bool = False, prefix: list[str] | None = None,
          candle_interval: int = 0) -> subprocess.Popen:
    """Starts tw-load; its stdout carries the `ready` line, its stderr the summary.
    `prefix` goes before the binary (for example `nice -n -20`)."""
    argv = [*(prefix or []), str(binary), "--target", target, "--connections", str(connections), "--streams", str(streams),
            "--indicators", str(indicators), "--duration", f"{duration_s:g}", "--warmup", f"{warmup_s:g}",
            "--sample-every", str(sample_every), "--json", str(json_path), "--stream-detail"]
    if record_path is not None:
        argv += ["--record-batches", str(record_path), "--probe-streams", str(probe_streams)]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    if stalled_streams:
        argv += ["--stalled-streams", str(stalled_streams)]
    if busy_poll:
        argv += ["--busy-poll"]
    if candle_interval:
        argv += ["--candle-interval", str(candle_interval)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen, json_path: Path, timeout_s: float = 30) -> tuple[dict, str]:
    """SIGUSR1, then (report, stderr summary)."""
    if proc.poll() is None:
        proc.send_signal(STOP_SIGNAL)
    _, stderr = proc.communicate(timeout=timeout_s)
    if proc.returncode not in (0, 1):  # 1: the run completed but some stream ended early
        raise RuntimeError(f"tw-load exited {proc.returncode}: {stderr.strip()}")
    return json.loads(json_path.read_text()), stderr


def read_recording(path: Path) -> dict[int, dict]:
    """stream index -> {"arrivals": [mono s], "updates": [[batch, symbol, kind, period, value,
    trade_id, trade_time_ms]], "price_samples": [[mono s, lag ms, symbol, trade_id]]}, the
    shapes indicator_soak's probe checks take."""
    probes: dict[int, dict] = {}
    with path.open() as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            probe = probes.setdefault(rec["stream"], {"arrivals": [], "updates": [], "price_samples": []})
            if "updates" in rec:
                n = len(probe["arrivals"])
                probe["arrivals"].append(rec["mono"])
                probe["updates"] += [[n, *u] for u in rec["updates"]]
            else:
                probe["price_samples"].append([rec["mono"], rec["lag_ms"], rec["symbol"], rec["trade_id"]])
    return probes
