#!/usr/bin/env python3
"""Regenerates the committed seed corpora under Tests/Fuzz/*/corpus/.

    .venv/bin/python Tests/Fuzz/make_corpus.py

binance_json: evenly spaced real frames from the 2024-08-08 captures in
Tests/Fixtures (trades from the .jsonl; bookTicker and depth from the raw
.gz), plus hand-made edge cases.
grpc_deframer: length-prefixed tickwire.v1.IndicatorRequests built with the
integration tests' protobuf stubs, behind the harness's two header bytes
(chunk size, limit / 16), plus framing edge cases.
indicator_request: operation scripts (see FuzzIndicatorRequest.swift) made of
the IndicatorRequests test_indicators.py sends and real fixture prices.
grpc_connection: the grpcio client captures in Tests/Fuzz/grpc_connection/captures
(Tests/Fuzz/capture_grpc_client.py records them), whole and in small reads, plus
hand-made HTTP/2 edge cases; each behind the harness's two header bytes.

The output is deterministic, so regenerating changes nothing unless the
fixtures, the .proto or this script changed.
"""
import gzip
import json
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


def indicator_stubs():
    sys.path.insert(0, str(ROOT / "Tests" / "Integration"))
    import harness  # noqa: E402
    harness.ensure_stubs()
    from tickwire.v1 import price_stream_pb2 as pb  # noqa: E402
    return pb


class Script:
    """Builds one indicator_request input: see FuzzIndicatorRequest.swift."""

    def __init__(self):
        self.data = bytearray()

    def request(self, slot: int, body: bytes) -> "Script":
        self.data += bytes([slot << 3]) + struct.pack(">H", len(body)) + body
        return self

    def trade(self, symbol: int, price: str) -> "Script":
        whole, _, fraction = price.rstrip("0").partition(".")
        self.data += bytes([4, symbol]) + struct.pack(">I", int(whole + fraction)) + bytes([len(fraction)])
        return self

    def batch(self) -> "Script":
        self.data += bytes([6])
        return self

    def close(self, slot: int) -> "Script":
        self.data += bytes([slot << 3 | 7])
        return self


def fixture_prices(count: int) -> list:
    """(symbol index, price text) of the first `count` fixture trades."""
    prices = []
    for line in TRADES.read_text().splitlines()[:count]:
        trade = json.loads(line)["data"]
        prices.append((0 if trade["s"] == "BTCUSDT" else 1, trade["p"]))
    return prices


def indicator_seeds() -> dict:
    pb = indicator_stubs()
    req = pb.IndicatorRequest
    sma, ema, rsi = pb.INDICATOR_TYPE_SMA, pb.INDICATOR_TYPE_EMA, pb.INDICATOR_TYPE_RSI
    serial = iter(range(10_000))

    def sub(symbol, kind, period, action=req.ACTION_SUBSCRIBE, rid=None):
        rid = rid if rid is not None else f"bad-{next(serial)}"
        return req(action=action, symbol=symbol, type=kind, period=period, request_id=rid).SerializeToString()

    def unsub(symbol, kind, period):
        return sub(symbol, kind, period, req.ACTION_UNSUBSCRIBE)

    def trades(script, prices, batch_every=3):
        for i, (symbol, price) in enumerate(prices, 1):
            script.trade(symbol, price)
            if i % batch_every == 0:
                script.batch()
        return script

    prices = fixture_prices(24)
    seeds = {}
    # test_bad_requests_get_their_codes_and_the_stream_goes_on, with the harness's --max-period 8.
    bad = Script()
    for body in [sub("btcusdt", pb.INDICATOR_TYPE_UNSPECIFIED, 14), sub("btcusdt", sma, 1), sub("btcusdt", ema, 0),
                 sub("btcusdt", rsi, 9), sub("btcusdt", sma, 2**32 - 1), sub("dogeusdt", sma, 14),
                 sub("BtcUsdt", sma, 8), sub("btcusdt", sma, 2), sub("BTCUSDT", sma, 2),
                 unsub("ethusdt", rsi, 14), sub("ethusdt", rsi, 8)]:
        bad.request(0, body)
    seeds["bad-requests-then-trades"] = trades(bad, prices[:12]).data
    early = Script()
    for kind in (sma, ema, rsi):
        for symbol in ("BTCUSDT", "ethusdt"):
            early.request(0 if symbol == "BTCUSDT" else 1, sub(symbol, kind, 2 if kind == rsi else 3))
    seeds["subscribed-before-trades"] = trades(early, prices).data
    late = trades(Script(), prices[:16], batch_every=4)
    for kind in (sma, ema, rsi):
        late.request(2, sub("BTCUSDT", kind, 8))
    seeds["late-subscriber-warms-from-history"] = late.batch().data
    pool = Script()
    for i in range(7):  # one over the harness's --max-indicators 6
        pool.request(i % 3, sub(["BTCUSDT", "ETHUSDT"][i % 2], sma, 2 + i))
    pool.close(0).request(1, sub("ETHUSDT", ema, 4))
    seeds["pool-exhausted-then-freed"] = trades(pool, prices[:6]).data
    full = Script()
    for period in range(2, 7):  # one over the harness's --max-subscriptions-per-stream 4
        full.request(1, sub("BTCUSDT", ema, period))
    seeds["stream-full"] = full.data
    shared = Script().request(0, sub("BTCUSDT", rsi, 3)).request(1, sub("btcusdt", rsi, 3))
    trades(shared, prices[:8]).request(0, unsub("BTCUSDT", rsi, 3))
    seeds["shared-state-one-leaves"] = trades(shared, prices[8:14]).close(1).batch().data
    resub = Script().request(0, sub("ETHUSDT", sma, 2))
    trades(resub, prices[:6]).request(0, unsub("ETHUSDT", sma, 2)).request(0, sub("ETHUSDT", sma, 2))
    seeds["resubscribe-gets-value-again"] = resub.batch().data
    flat = Script().request(0, sub("BTCUSDT", rsi, 2))
    for _ in range(5):
        flat.trade(0, "61837.63").batch()
    seeds["flat-prices-rsi"] = flat.data
    seeds["undecodable-then-subscribe"] = Script().request(0, b"\xff\xff\xff").request(0, sub("BTCUSDT", sma, 2)).batch().data
    seeds["invalid-utf8-symbol"] = Script().request(0, b"\x12\x02\xc3\x28").data
    seeds["long-request-id"] = Script().request(0, sub("BTCUSDT", sma, 2, rid="x" * 257)).request(
        0, sub("BTCUSDT", ema, 2, rid="y" * 256)).data
    seeds["unknown-action"] = Script().request(1, sub("BTCUSDT", sma, 2, action=7)).data
    seeds["empty-request"] = Script().request(2, b"").data
    seeds["long-symbol"] = Script().request(0, sub("B" * 65, sma, 2)).data
    seeds["close-holding-subscriptions"] = trades(
        Script().request(0, sub("BTCUSDT", sma, 5)).request(0, sub("ETHUSDT", ema, 5)), prices[:10]).close(0).data
    return seeds


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(headers) -> bytes:
    """Literal header fields without indexing and without Huffman: a
    deterministic block any HPACK decoder takes."""
    block = b""
    for name, value in headers:
        block += b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()
    return block


def connection_seeds() -> dict:
    seeds = {}
    for capture in sorted((ROOT / "Tests" / "Fuzz" / "grpc_connection" / "captures").glob("*.h2")):
        data = capture.read_bytes()
        seeds[f"capture-{capture.stem}"] = bytes([0, 0]) + data
        seeds[f"capture-{capture.stem}-reads-of-7"] = bytes([7, 1]) + data
    settings = h2_frame(4, 0, 0)
    start = H2_PREFACE + settings + h2_frame(4, 1, 0)
    grpc_headers = [(":method", "POST"), (":scheme", "http"), (":path", "/tickwire.v1.PriceStream/StreamPrices"),
                    (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers"),
                    ("grpc-timeout", "1S")]

    def headers(stream, fields=grpc_headers, end_stream=False):
        return h2_frame(1, 0x4 | (0x1 if end_stream else 0), stream, hpack_literal(fields))

    def data(stream, payload, end_stream=False, flag=0):
        return h2_frame(0, 0x1 if end_stream else 0, stream, frame(payload, flag))

    sma = b"\x12\x07BTCUSDT\x18\x01\x20\x14\x2a\x02r1"
    edge = {
        "preface-only": H2_PREFACE,
        "preface-settings": start,
        "call-one-message-half-close": start + headers(1) + data(1, sma, end_stream=True),
        "call-empty-message": start + headers(1) + data(1, b""),
        "call-client-trailers": start + headers(1) + data(1, sma) + h2_frame(1, 0x5, 1, hpack_literal([("x-t", "1")])),
        "call-compressed": start + headers(1) + data(1, sma, flag=1),
        "call-too-large": start + headers(1) + h2_frame(0, 0, 1, b"\x00\x7f\xff\xff\xff"),
        "call-cut-mid-message": start + headers(1) + h2_frame(0, 1, 1, frame(sma)[:-3]),
        "get-method": start + headers(1, [(":method", "GET")] + grpc_headers[1:], end_stream=True),
        "wrong-content-type": start + headers(1, grpc_headers[:4] + [("content-type", "text/plain")]),
        "health-check": start + headers(1, grpc_headers[:2] + [(":path", "/grpc.health.v1.Health/Check")]
                                        + grpc_headers[3:]) + data(1, b"", end_stream=True),
        "unknown-path": start + headers(1, grpc_headers[:2] + [(":path", "/x/Y")] + grpc_headers[3:], end_stream=True),
        "two-calls-reset-one": start + headers(1) + headers(3) + h2_frame(3, 0, 1, struct.pack(">I", 8))
                               + data(3, sma, end_stream=True),
        "ping-window-update-goaway": start + h2_frame(6, 0, 0, b"12345678") + h2_frame(8, 0, 0, struct.pack(">I", 65535))
                                     + headers(1) + h2_frame(8, 0, 1, struct.pack(">I", 1000))
                                     + h2_frame(7, 0, 0, struct.pack(">II", 1, 0)),
        "continuation": start + h2_frame(1, 0, 1, hpack_literal(grpc_headers[:3]))
                        + h2_frame(9, 0x4, 1, hpack_literal(grpc_headers[3:])),
        "priority-unknown-frame": start + h2_frame(2, 0, 1, b"\x00\x00\x00\x00\x10") + h2_frame(0xfa, 0, 0, b"??"),
        "settings-small-window": H2_PREFACE + h2_frame(4, 0, 0, struct.pack(">HI", 4, 16)) + headers(1)
                                 + data(1, sma) + h2_frame(8, 0, 1, struct.pack(">I", 64)),
        "not-http2": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    for name, stream in edge.items():
        seeds[f"edge-{name}"] = bytes([0, 1]) + stream
    return seeds


def main() -> None:
    write_corpus(ROOT / "Tests" / "Fuzz" / "binance_json" / "corpus", binance_seeds())
    write_corpus(ROOT / "Tests" / "Fuzz" / "grpc_deframer" / "corpus", deframer_seeds())
    write_corpus(ROOT / "Tests" / "Fuzz" / "indicator_request" / "corpus", indicator_seeds())
    write_corpus(ROOT / "Tests" / "Fuzz" / "grpc_connection" / "corpus", connection_seeds())


if __name__ == "__main__":
    main()
