"""Checks a StreamPrices peer binary with the Python grpcio client: every
fixture trade arrives once, in order, with its fields; an SMA subscription is
answered OK and then batched; EMA is refused INVALID_ARGUMENT (SMA-only peers).

    /work/main/.venv/bin/python bench/peers/swift/check_peer.py .build-peers/tickwire-grpc-swift-2

The peer gets the grpc-go peer's flags (bench/compare/servers.py), with the
fixture at 2,000 trades/s, unlooped, held for one stream.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "Tests" / "Integration"))
import harness  # noqa: E402


def requests(pb, release: threading.Event):
    """SMA 20 on BTCUSDT, then EMA (refused), then the send side stays open."""
    yield pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol="btcusdt",
                              type=pb.INDICATOR_TYPE_SMA, period=20, request_id="sma-20")
    yield pb.IndicatorRequest(action=pb.IndicatorRequest.ACTION_SUBSCRIBE, symbol="BTCUSDT",
                              type=pb.INDICATOR_TYPE_EMA, period=20, request_id="ema-20")
    release.wait(60)


def main(binary: str) -> int:
    pb, _ = harness.stubs()
    argv = [binary, "-listen", "127.0.0.1:0", "-replay", str(harness.TRADES_FIXTURE),
            "-replay-rate", "2000", "-replay-wait-streams", "1"]
    server = harness.TickwireServer(argv, harness.server_env(), None)
    try:
        port = server.wait_listening()
        chan = harness.channel(f"127.0.0.1:{port}")
        release = threading.Event()
        collector = harness.StreamCollector(chan, requests=requests(pb, release)).start()
        server.log.wait_for("replay starting", 10)
        want = harness.fixture_trades()
        server.log.wait_for("replay finished", 30)
        harness.wait_until(lambda: len(collector.prices()) >= len(want), 10)
        got = [harness.trade_from_update(item.response.price) for item in collector.prices()]
        statuses = {r.status.request_id: r.status for r in collector.non_prices() if r.WhichOneof("payload") == "status"}
        smas = [u for r in collector.non_prices() if r.WhichOneof("payload") == "indicators" for u in r.indicators.updates]
        collector.cancel()
        problems = []
        if got != want:
            problems.append(f"prices differ from the fixture: {harness.first_difference(got, want)}")
        if statuses.get("sma-20") is None or statuses["sma-20"].code != 0:
            problems.append(f"SMA subscription not answered OK: {statuses.get('sma-20')}")
        if statuses.get("ema-20") is None or statuses["ema-20"].code != 3:
            problems.append(f"EMA not refused INVALID_ARGUMENT: {statuses.get('ema-20')}")
        if not smas or any(u.symbol != "BTCUSDT" or u.period != 20 for u in smas):
            problems.append(f"no SMA batches for BTCUSDT/20 (got {len(smas)} updates)")
        print(f"prices {len(got)}/{len(want)} in order: {got == want}; "
              f"statuses {[(k, s.code, s.message) for k, s in statuses.items()]}; "
              f"SMA updates {len(smas)}, last {smas[-1].value if smas else None} at trade {smas[-1].trade_id if smas else None}")
        for problem in problems:
            print("FAIL:", problem)
        return 1 if problems else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
