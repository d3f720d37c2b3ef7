#!/usr/bin/env python3
"""Regenerates the committed seed corpora under fuzz/*/corpus/.

    .venv/bin/python fuzz/make_corpus.py

binance_json: evenly spaced real frames from the 2024-08-08 captures in
Tests/Fixtures (trades from the .jsonl; bookTicker and depth from the raw
.gz), plus hand-made edge cases.
grpc_deframer: length-prefixed tickwire.v1.IndicatorRequests built with the
integration tests' protobuf stubs, behind the harness's two header bytes
(chunk size, limit / 16), plus framing edge cases.

The output is deterministic, so regenerating changes nothing unless the
fixtures, the .proto or this script changed.
"""
import gzip
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "Fixtures"
TRADES = FIXTURES / "binance-2024-08-08-btcusdt-ethusdt-trades.jsonl"
RAW = FIXTURES / "binance-2024-08-08-btcusdt-ethusdt-raw.jsonl.gz"

TRADE_SEEDS = 160
BOOK_TICKER_SEEDS = 60
DEPTH_SEEDS = 60
DEPTH_MAX_BYTES = 1200  # the big depth snapshots add bytes, not coverage


def evenly(items, count):
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def write_corpus(directory: Path, seeds: dict) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for name, data in seeds.items():
        (directory / name).write_bytes(data)
    total = sum(len(d) for d in seeds.values())
    print(f"{directory.relative_to(ROOT)}: {len(seeds)} files, {total} bytes")


def binance_seeds() -> dict:
    seeds = {}
    trades = TRADES.read_text().splitlines()
    for i, line in enumerate(evenly(trades, TRADE_SEEDS)):
        seeds[f"trade-{i:03}"] = line.encode()
    raw = gzip.open(RAW, "rt").read().splitlines()
    book = [l for l in raw if "@bookTicker" in l]
    depth = [l for l in raw if "@depth" in l and len(l) <= DEPTH_MAX_BYTES]
    for i, line in enumerate(evenly(book, BOOK_TICKER_SEEDS)):
        seeds[f"bookticker-{i:03}"] = line.encode()
    for i, line in enumerate(evenly(depth, DEPTH_SEEDS)):
        seeds[f"depth-{i:03}"] = line.encode()

    trade = trades[0]
    data = trade[trade.index('"data":') + len('"data":'):-1]
    edge = {
        "bare-trade": data,
        "agg-trade": '{"e":"aggTrade","E":1723161255343,"s":"BTCUSDT","a":26129,"p":"0.01633102",'
                     '"q":"4.70443515","f":100,"l":105,"T":1723161255342,"m":true,"M":true}',
        "agg-trade-envelope": '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT",'
                              '"a":1,"p":"1.5","q":"2","f":1,"l":1,"T":1,"m":false,"M":true}}',
        "server-shutdown": '{"e":"serverShutdown","E":1723161255343}',
        "server-shutdown-envelope": '{"stream":"btcusdt@trade","data":{"e":"serverShutdown","E":1723161255343}}',
        "subscribe-reply": '{"result":null,"id":1}',
        "error-reply": '{"error":{"code":2,"msg":"Invalid request"},"id":1}',
        "truncated-mid-object": trade[: len(trade) // 2],
        "truncated-last-brace": trade[:-1],
        "truncated-after-price": trade[: trade.index('"q":')],
        "trailing-garbage": trade + "}",
        "two-frames": trade + trade,
        "reordered-fields": '{"data":{"T":5,"q":"1","p":"2","t":3,"s":"ETHUSDT","E":4,"e":"trade"},"stream":"x"}',
        "duplicate-fields": '{"data":{"e":"trade","e":"aggTrade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}}',
        "nested-deep": "[" * 512 + "]" * 512,
        "nested-data": '{"data":{"data":{"data":{"e":"trade"}}}}',
        "nested-value": '{"data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,'
                        '"x":{"y":[[[[{"z":[1,2,{"w":null}]}]]]]}}}',
        "huge-price": trade.replace('"p":"61837.63000000"', '"p":"' + "9" * 400 + '.0"'),
        "huge-int": trade.replace('"t":3735683259', '"t":99999999999999999999999999'),
        "negative-price": trade.replace('"p":"61837.63000000"', '"p":"-1.0"'),
        "exponent-price": trade.replace('"p":"61837.63000000"', '"p":"1e308"'),
        "nan-price": trade.replace('"p":"61837.63000000"', '"p":"nan"'),
        "number-not-string": trade.replace('"p":"61837.63000000"', '"p":61837.63'),
        "long-symbol": trade.replace('"s":"BTCUSDT"', '"s":"' + "X" * 25 + '"'),
        "max-symbol": trade.replace('"s":"BTCUSDT"', '"s":"' + "X" * 24 + '"'),
        "escaped-symbol": trade.replace('"s":"BTCUSDT"', '"s":"BTC\\u0055SDT"'),
        "empty-symbol": trade.replace('"s":"BTCUSDT"', '"s":""'),
        "data-not-object": '{"stream":"btcusdt@trade","data":[1,2,3]}',
        "root-array": "[" + trade + "]",
        "root-scalar": "12345",
        "root-string": '"trade"',
        "empty": "",
        "whitespace": " \t\r\n",
    }
    for name, text in edge.items():
        seeds[f"edge-{name}"] = text.encode()
    seeds["edge-invalid-utf8"] = b'{"e":"trade","E":1,"s":"\xff\xfe","t":1,"p":"1","q":"1","T":1}'
    seeds["edge-nul-bytes"] = trade.encode().replace(b"BTCUSDT", b"BTC\x00SDT")
    return seeds


def frame(payload: bytes, flag: int = 0) -> bytes:
    return struct.pack(">BI", flag, len(payload)) + payload


def deframer_seeds() -> dict:
    sys.path.insert(0, str(ROOT / "Tests" / "Integration"))
    import harness  # noqa: E402  (the integration tests' stub generator)
    harness.ensure_stubs()
    from tickwire.v1 import price_stream_pb2 as pb  # noqa: E402

    req = pb.IndicatorRequest
    requests = [
        req(action=req.ACTION_SUBSCRIBE, symbol="BTCUSDT", type=pb.INDICATOR_TYPE_SMA, period=20, request_id="r1"),
        req(action=req.ACTION_SUBSCRIBE, symbol="ETHUSDT", type=pb.INDICATOR_TYPE_EMA, period=50, request_id="e-50"),
        req(action=req.ACTION_UNSUBSCRIBE, symbol="btcusdt", type=pb.INDICATOR_TYPE_RSI, period=14, request_id="u"),
        req(symbol="BTCUSDT", type=pb.INDICATOR_TYPE_RSI, period=14, request_id="x" * 256),
        req(),  # every field default: the empty message, 0 bytes
    ]
    payloads = [r.SerializeToString() for r in requests]
    stream = b"".join(frame(p) for p in payloads)
    # Header: chunk size (0 = one chunk), then limit / 16 (0 = limit 0).
    seeds = {}
    for i, p in enumerate(payloads):
        seeds[f"request-{i}-whole"] = bytes([0, 255]) + frame(p)
    for chunk in (1, 2, 3, 4, 5, 6, 7, 13, 64):
        seeds[f"stream-chunk-{chunk}"] = bytes([chunk, 255]) + stream
    seeds["edge-compressed"] = bytes([3, 255]) + frame(payloads[0]) + frame(payloads[1], flag=1) + frame(payloads[2])
    seeds["edge-too-large"] = bytes([2, 1]) + frame(payloads[0]) + frame(payloads[3])
    seeds["edge-limit-zero"] = bytes([1, 0]) + frame(b"") + frame(b"") + frame(b"\x08\x01")
    seeds["edge-exactly-limit"] = bytes([0, 1]) + frame(bytes(16)) + frame(bytes(17))
    seeds["edge-announced-4gib"] = bytes([5, 255]) + b"\x00\xff\xff\xff\xff" + payloads[0]
    seeds["edge-truncated-prefix"] = bytes([1, 255]) + frame(payloads[0]) + frame(payloads[1])[:3]
    seeds["edge-truncated-body"] = bytes([4, 255]) + frame(payloads[0]) + frame(payloads[1])[:-2]
    seeds["edge-empty-messages"] = bytes([0, 255]) + frame(b"") * 8
    return seeds


def main() -> None:
    write_corpus(ROOT / "fuzz" / "binance_json" / "corpus", binance_seeds())
    write_corpus(ROOT / "fuzz" / "grpc_deframer" / "corpus", deframer_seeds())


if __name__ == "__main__":
    main()
