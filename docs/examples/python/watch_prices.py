"""Watch a Tickwire server (Python, grpcio): subscribe to RSI(14) of one symbol
on the StreamPrices stream, and print every price and indicator value until
Ctrl-C, the server ending the stream, or --count N messages (prices and
indicator batches).

usage: python watch_prices.py [--target HOST:PORT] [--symbol SYMBOL] [--count N] [--stubs DIR]

The stubs come from Protos/ (see docs/examples/README.md):
    python -m grpc_tools.protoc -I Protos --python_out=DIR --grpc_python_out=DIR \
        tickwire/v1/price_stream.proto
"""
import argparse
import queue
import signal
import sys

parser = argparse.ArgumentParser(description="Print prices and RSI(14) from a Tickwire server.")
parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT (default %(default)s)")
parser.add_argument("--symbol", default="btcusdt", help="symbol of the indicator (default %(default)s)")
parser.add_argument("--count", type=int, default=0,
                    help="stop after N prices and indicator batches (default 0: until Ctrl-C)")
parser.add_argument("--stubs", help="directory holding the generated tickwire/v1/*_pb2*.py, if not on sys.path")
args = parser.parse_args()
if args.stubs:
    sys.path.insert(0, args.stubs)

import grpc  # noqa: E402  (after --stubs, like the stubs below)
from tickwire.v1 import price_stream_pb2 as pb, price_stream_pb2_grpc as rpc  # noqa: E402

# The request side stays open so subscriptions can change at any time: put an
# IndicatorRequest to send it, None to close our side.
outbox = queue.SimpleQueue()


def requests():
    while (request := outbox.get()) is not None:
        yield request


outbox.put(pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol=args.symbol,
                               type=pb.INDICATOR_TYPE_RSI, period=14, request_id="rsi14"))

prices = batches = 0
with grpc.insecure_channel(args.target) as channel:
    call = rpc.PriceStreamStub(channel).StreamPrices(requests())
    # Ctrl-C (or SIGTERM) cancels the call; the loop below then ends with CANCELLED.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: call.cancel())
    try:
        for response in call:
            kind = response.WhichOneof("payload")
            if kind == "price":
                prices += 1
                p = response.price
                print(f"price {p.symbol} #{p.trade_id} {p.price} x {p.quantity}", flush=True)
            elif kind == "indicators":
                batches += 1
                for u in response.indicators.updates:
                    name = pb.IndicatorType.Name(u.type).removeprefix("INDICATOR_TYPE_")
                    print(f"indicator {u.symbol} {name}({u.period}) = {u.value:.4f} as of trade #{u.trade_id}",
                          flush=True)
            elif kind == "status":
                s = response.status
                print(f"subscription {s.request_id}: code {s.code} {s.message}", flush=True)
            elif kind == "shutdown":
                print(f"server stops at {response.shutdown.deadline_unix_ms} ms: {response.shutdown.reason}",
                      flush=True)
            if args.count and prices + batches >= args.count:
                print(f"stream ended: --count {args.count} reached")
                call.cancel()
                break
        else:
            print("stream ended: OK")
    except grpc.RpcError as error:  # UNAVAILABLE after a server drain, CANCELLED on Ctrl-C, ...
        print(f"stream ended: {error.code().name} {error.details()}")
    finally:
        outbox.put(None)
print(f"done: {prices} prices, {batches} indicator batches")
