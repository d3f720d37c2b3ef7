#!/usr/bin/env python3
"""The attack suite's healthy client (attack_verdict.py): one StreamPrices
stream, in its own process so that the attackers' Python (the GIL, h2's
framing) never delays its receive stamps.

Records every price as it arrives (its fields, the server's ingest stamp and
the wall-clock receive time), prints `ready` at the first one, and stops when
its stdin closes or after --max-seconds. Then it writes everything as JSON to
--out: {"end": how the stream ended, "finished": bool, "prices": [[symbol,
price, quantity, trade_id, trade_time_ms, event_time_ms, ingest_ns, recv_ns]]}.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="HOST:PORT of the server")
    parser.add_argument("--ca", help="CA certificate (PEM): connect over TLS")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import grpc
    pb, pb_grpc = harness.stubs()
    if args.ca:
        credentials = grpc.ssl_channel_credentials(root_certificates=Path(args.ca).read_bytes())
        chan = grpc.secure_channel(args.target, credentials, options=harness.CHANNEL_OPTIONS)
    else:
        chan = harness.channel(args.target)
    stop = threading.Event()
    prices: list[list] = []
    outcome = {"end": "stream still open", "finished": False}

    def read_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the parent is done (or gone)
        stop.set()

    def requests():
        stop.wait(args.max_seconds)  # the send side stays open: no half-close
        return
        yield  # noqa: unreachable - makes this a generator

    call = pb_grpc.PriceStreamStub(chan).StreamPrices(requests(), timeout=args.max_seconds)

    def consume() -> None:
        try:
            for response in call:
                if response.WhichOneof("payload") != "price":
                    continue
                recv_ns = time.time_ns()
                p = response.price
                prices.append([p.symbol, p.price, p.quantity, p.trade_id, p.trade_time_ms,
                               p.event_time_ms, p.ingest_unix_nanos, recv_ns])
                if len(prices) == 1:
                    print("ready", flush=True)
            outcome["end"] = "stream ended with OK (server closed it)"
        except grpc.RpcError as error:
            outcome["end"] = f"stream ended with {error.code()}: {error.details()!r}"
        finally:
            outcome["finished"] = not stop.is_set()

    threading.Thread(target=read_stdin, daemon=True).start()
    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    stop.wait(args.max_seconds)
    stop.set()
    if reader.is_alive():
        call.cancel()
        reader.join(5)
    chan.close()
    Path(args.out).write_text(json.dumps({**outcome, "prices": prices}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
