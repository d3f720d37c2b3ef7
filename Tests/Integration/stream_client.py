#!/usr/bin/env python3
"""Holds N StreamPrices streams on one channel (one TCP connection) until killed.

Used by test_client_death.py as a separate process, so that the test can SIGKILL
a real client mid-stream. Prints `open` once the streams are started and
`ready <counts>` once every stream has received a message; exits by itself after
--max-seconds so that it can never outlive a test run for long.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="HOST:PORT of the server")
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    harness.ensure_stubs()
    chan = harness.channel(args.target)
    streams = [harness.StreamCollector(chan, name=f"child{i}", deadline_s=args.max_seconds).start()
               for i in range(args.streams)]
    print("open", flush=True)
    end = time.monotonic() + args.max_seconds
    while time.monotonic() < end:
        if all(s.count() > 0 for s in streams):
            print("ready", [s.count() for s in streams], flush=True)
            break
        if any(s.finished for s in streams):
            print("ended", [s.describe_end() for s in streams], flush=True)
            return 1
        time.sleep(0.02)
    while time.monotonic() < end:
        time.sleep(0.2)
    for s in streams:
        s.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
