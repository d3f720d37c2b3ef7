#!/usr/bin/env python3
"""How late Binance trade events arrive relative to their trade time, and what
that means for the candle close grace (docs/candles.md quotes the output).

E is when Binance's stream sent the event, T when the trade happened. A trade
stamped before a candle boundary whose event leaves Binance after the boundary
plus the grace would miss a clock-closed candle. Network delay to us comes on
top of E - T; the recordings do not have it, so it is discussed in the doc.

usage: bench/trade_lateness.py [TRADES.jsonl]   (default: the 2024-08-08 fixture)
"""
import json, pathlib, sys

DEFAULT = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/binance-2024-08-08-btcusdt-ethusdt-trades.jsonl"


def lateness(path):
    out = []
    with open(path) as f:
        for line in f:
            d = json.loads(line).get("data", {})
            if d.get("e") == "trade":
                out.append((d["T"], d["E"]))
    return out


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    pairs = lateness(path)
    late = sorted(e - t for t, e in pairs)
    print(f"{len(late)} trades from {pathlib.Path(path).name}")
    print("E - T ms: " + ", ".join(f"{name} {percentile(late, q)}" for name, q in
                                   (("p50", .5), ("p90", .9), ("p99", .99), ("p99.9", .999))) + f", max {late[-1]}")
    for span_ms, label in ((1000, "1s"), (60000, "1m")):
        crossing = [(t, e) for t, e in pairs if e // span_ms != t // span_ms]
        print(f"{label}: {len(crossing)} trades stamped before a boundary were sent after it")
        for grace in (0, 10, 50, 100, 150, 200, 225, 250, 500):
            missed = sum(1 for t, e in crossing if e >= (t // span_ms + 1) * span_ms + grace)
            print(f"  grace {grace:>3} ms: {missed} would arrive after the close")


if __name__ == "__main__":
    main()
