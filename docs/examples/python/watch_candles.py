"""Watch one symbol's 1m candles and RSI(14) on them (Python, grpcio): print
each candle as it closes, and RSI(14) on 1m closes with its provisional value
on the forming candle, until Ctrl-C, the server ending the stream, --duration,
or --closes N closed candles.

usage: python watch_candles.py [--target HOST:PORT] [--symbol SYMBOL]
                               [--closes N] [--duration 10m] [--stubs DIR]

The stubs come from Protos/ as for watch_prices.py (docs/examples/README.md).
"""
import argparse
import queue
import signal
import sys

parser = argparse.ArgumentParser(description="Print 1m candles and RSI(14) on 1m closes from a Tickwire server.")
parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT (default %(default)s)")
parser.add_argument("--symbol", default="btcusdt", help="symbol (default %(default)s)")
parser.add_argument("--closes", type=int, default=0,
                    help="stop after N closed candles (default 0: until Ctrl-C)")
parser.add_argument("--duration", help="ask the server to end the stream after this long (e.g. 10m)")
parser.add_argument("--stubs", help="directory holding the generated tickwire/v1/*_pb2*.py, if not on sys.path")
args = parser.parse_args()
if args.stubs:
    sys.path.insert(0, args.stubs)

import grpc  # noqa: E402  (after --stubs, like the stubs below)
from tickwire.v1 import price_stream_pb2 as pb, price_stream_pb2_grpc as rpc  # noqa: E402

outbox = queue.SimpleQueue()


def requests():
    while (request := outbox.get()) is not None:
        yield request


SUBSCRIBE = pb.IndicatorRequest.ACTION_SUBSCRIBE
# The candles themselves: type and period are not used. Without `forming`
# only closed candles come, so each candle is printed once.
outbox.put(pb.IndicatorRequest(action=SUBSCRIBE, symbol=args.symbol, candles=True,
                               interval=pb.CANDLE_INTERVAL_1M, request_id="candles-1m"))
# RSI(14) on 1m closes, plus the provisional value on the forming candle.
outbox.put(pb.IndicatorRequest(action=SUBSCRIBE, symbol=args.symbol, type=pb.INDICATOR_TYPE_RSI, period=14,
                               interval=pb.CANDLE_INTERVAL_1M, forming=True, request_id="rsi14-1m"))

closes = 0
metadata = [("tickwire-stream-duration", args.duration)] if args.duration else []
with grpc.insecure_channel(args.target) as channel:
    call = rpc.PriceStreamStub(channel).StreamPrices(requests(), metadata=metadata)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: call.cancel())
    try:
        for response in call:
            kind = response.WhichOneof("payload")
            if kind == "status":
                s = response.status
                print(f"subscription {s.request_id}: code {s.code} {s.message}", flush=True)
            elif kind == "candles":
                for c in response.candles.candles:
                    state = "closed" if c.closed else "forming"
                    # Prices unrounded (Python's shortest repr): they read as the exchange's decimals.
                    print(f"{c.symbol} {pb.CandleInterval.Name(c.interval)} open {c.open_time_ms} {state}: "
                          f"O {c.open} H {c.high} L {c.low} C {c.close} V {c.volume:.6f} n {c.trade_count}",
                          flush=True)
                    closes += c.closed
            elif kind == "indicators":
                for u in response.indicators.updates:
                    if u.interval == pb.CANDLE_INTERVAL_UNSPECIFIED:
                        continue  # a per-trade value, should one be subscribed: no candle to name
                    label = "provisional" if u.forming else "on close"
                    print(f"{u.symbol} RSI({u.period}) {pb.CandleInterval.Name(u.interval)} {label} = "
                          f"{u.value:.4f} (candle ending {u.trade_time_ms})", flush=True)
            if args.closes and closes >= args.closes:
                print(f"stream ended: --closes {args.closes} reached")
                call.cancel()
                break
        else:
            print("stream ended: OK")
    except grpc.RpcError as error:  # CANCELLED on Ctrl-C, UNAVAILABLE when the server stops, ...
        print(f"stream ended: {error.code().name} {error.details()}")
    finally:
        outbox.put(None)
