"""The scenarios of issue 8: what load each run offers, and how long it holds."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One offered load: `streams` StreamPrices calls over `connections`
    HTTP/2 connections, the replay at `trades_per_s` (None: as fast as the
    server goes), each stream subscribing to `indicators` indicators."""
    name: str
    streams: int
    connections: int
    trades_per_s: float | None
    hold_s: float
    indicators: int = 0
    # Nonzero: the indicators are on this tickwire.v1.CandleInterval's closes
    # (2 = 1m), with provisional values; tickwire only (issue 18).
    candle_interval: int = 0
    # tw-load decodes every n-th price of a stream for its latency.
    sample_every: int = 1
    # tw-load spins on epoll_wait instead of sleeping, as a colocated trading
    # client would: the latency then leaves out the reader's own wake-up.
    busy_poll: bool = False
    what: str = ""

    @property
    def rate_label(self) -> str:
        return "max" if self.trades_per_s is None else f"{self.trades_per_s:,.0f}/s"


FULL = [
    Scenario("colocated", 10, 10, 1000, 30, busy_poll=True,
             what="10 streams / 10 conns at 1,000 trades/s, tw-load spinning"),
    Scenario("mid", 100, 100, 2000, 30, sample_every=10, what="100 / 100 at 2,000 trades/s"),
    Scenario("fanout", 1000, 100, 2000, 30, sample_every=100, what="1,000 streams / 100 conns at 2,000 trades/s"),
    Scenario("burst", 100, 100, None, 10, sample_every=100, what="100 / 100, replay as fast as possible, 10 s"),
    Scenario("capacity", 10000, 10000, 100, 20, sample_every=10,
             what="10,000 connections, one stream each, 100 trades/s"),
    Scenario("indicators", 1000, 100, 2000, 30, indicators=10, sample_every=100,
             what="fan-out plus 10 indicator subscriptions per stream"),
    Scenario("candles", 1000, 100, 2000, 30, indicators=10, candle_interval=2, sample_every=100,
             what="the indicators scenario with the 10 on 1m candle closes, provisional values on (tickwire only)"),
]

# --quick: the same shapes, shorter, and capacity at 2,000 connections, so a
# smoke run of every scenario against two servers takes a few minutes.
QUICK_OVERRIDES = {"colocated": dict(hold_s=6), "mid": dict(hold_s=6), "fanout": dict(hold_s=6),
                   "burst": dict(hold_s=5), "capacity": dict(hold_s=5, streams=2000, connections=2000,
                                                             what="2,000 connections (--quick), one stream each, 100 trades/s"),
                   "indicators": dict(hold_s=6), "candles": dict(hold_s=6)}


def scenarios(names: list[str] | None, quick: bool, hold_s: float | None,
              busy_poll: bool | None = None) -> list[Scenario]:
    chosen = [s for s in FULL if not names or s.name in names]
    unknown = set(names or []) - {s.name for s in FULL}
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {[s.name for s in FULL]}")
    if quick:
        chosen = [dataclasses.replace(s, **QUICK_OVERRIDES.get(s.name, {})) for s in chosen]
    if hold_s is not None:
        chosen = [dataclasses.replace(s, hold_s=hold_s) for s in chosen]
    if busy_poll is not None:
        chosen = [dataclasses.replace(s, busy_poll=busy_poll) for s in chosen]
    return chosen
