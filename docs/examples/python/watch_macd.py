"""Watch MACD(12, 26, 9) of one symbol on 1m candles (Python, grpcio): print
each value on close and, with --forming, the provisional value on the forming
candle, until Ctrl-C, the server ending the stream, --duration, or --closes N
values on close.

usage: python watch_macd.py [--target HOST:PORT] [--symbol SYMBOL] [--forming]
                            [--closes N] [--duration 10m] [--stubs DIR]

The stubs come from Protos/ as for watch_prices.py (docs/examples/README.md).
"""
import argparse
import queue
import signal
import sys

parser = argparse.ArgumentParser(description="Print MACD(12, 26, 9) on 1m candles from a Tickwire server.")
parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT (default %(default)s)")
parser.add_argument("--symbol", default="btcusdt", help="symbol (default %(default)s)")
parser.add_argument("--forming", action="store_true",
                    help="also print the provisional value on the forming candle")
parser.add_argument("--closes", type=int, default=0,
                    help="stop after N values on close (default 0: until Ctrl-C)")
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


# The periods spelled out; leaving `parameters` out gives the same 12, 26, 9.
macd = pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol=args.symbol,
                           type=pb.INDICATOR_TYPE_MACD, interval=pb.CANDLE_INTERVAL_1M,
                           forming=args.forming, request_id="macd-1m")
macd.parameters.macd.fast_period, macd.parameters.macd.slow_period, macd.parameters.macd.signal_period = 12, 26, 9
outbox.put(macd)

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
                m = s.parameters.macd
                print(f"subscription {s.request_id}: code {s.code} {s.message} "
                      f"(MACD {m.fast_period}, {m.slow_period}, {m.signal_period})", flush=True)
            elif kind == "indicators":
                for u in response.indicators.updates:
                    if u.type != pb.INDICATOR_TYPE_MACD:
                        continue
                    line, signal_line, histogram = u.values  # the documented order
                    label = "provisional" if u.forming else "on close"
                    print(f"{u.symbol} MACD {pb.CandleInterval.Name(u.interval)} {label}: macd {line:.4f} "
                          f"signal {signal_line:.4f} histogram {histogram:.4f} (candle ending {u.trade_time_ms})",
                          flush=True)
                    closes += not u.forming
            if args.closes and closes >= args.closes:
                print(f"stream ended: --closes {args.closes} reached")
                call.cancel()
                break
        else:
            print("stream ended: OK")
    except grpc.RpcError as error:  # CANCELLED on Ctrl-C, UNAVAILABLE with no server, ... (--duration ends with OK)
        print(f"stream ended: {error.code().name} {error.details()}")
    finally:
        outbox.put(None)
