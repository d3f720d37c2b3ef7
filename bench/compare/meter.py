"""What run.py reads from /proc about the server: CPU (user+sys), RSS, and
the other load on the shared machine during a hold."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "load"))

import fanout_soak  # noqa: E402
import indicator_soak  # noqa: E402

# Reused as they are: waiting for an idle second, and the hold meter that
# names other processes' CPU.
wait_for_quiet_machine = indicator_soak.wait_for_quiet_machine
HoldMeter = indicator_soak.HoldMeter
cpu_seconds = fanout_soak.cpu_seconds


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """The largest RSS seen at the samples taken while waiting."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = rss_kib(pid) or 0

    def sleep(self, seconds: float, every_s: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(every_s, left))
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid) or 0)
