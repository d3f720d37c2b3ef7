"""Kline warm-up over the real binary (issue 18, item 4, live): at startup
with --warm-intervals, every symbol's recent klines are fetched from the
fake's WebSocket API (`klines`, aggregated from the fake's own trade
history), on the backfill's connection.

Contract under test:
- One `kline fetch complete` line per (symbol, interval), whose count and
  first/last open times equal what the fake answered; one `klines` request
  each, limit 1000; the tickwire_kline_* metrics count them (weight 2 each).
- An error reply (400 Invalid interval.) fails that fetch at once
  (`kline fetch failed` with Binance's message, attempts=1); the others complete.
- A 429 with retryAfter is logged (`kline fetch retrying`), nothing is asked
  before retryAfter, and the fetch then completes with attempts=2.
- The connection dropped mid-request: the fetch is retried on a new
  connection and completes with attempts=2.

Every wait is bounded in time; nothing loops unbounded.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

import fake_binance
import harness
from fake_binance import Frame

LOG_TIMEOUT_S = 10.0
HISTORY_TRADES = 2000        # about 50 s of the recording: dozens of 1s klines, two 1m klines
FETCH_COMPLETE_RE = re.compile(r"\bkline fetch complete\"?\s*$")
FETCH_FAILED_RE = re.compile(r"\bkline fetch failed\"?\s*$")
FETCH_RETRYING_RE = re.compile(r"\bkline fetch retrying\"?\s*$")
SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> fake_binance.TestPKI:
    return fake_binance.make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def recorded_frames() -> list[Frame]:
    return fake_binance.load_frames(harness.TRADES_FIXTURE, limit=HISTORY_TRADES + 500)


@pytest.fixture
def fakes():
    """Factory: fakes(frames, certificate), stopped at teardown (list it before start_server)."""
    with fake_binance.started_fakes(100.0) as make:
        yield make


def start_warming(start_server, fakes, pki, frames, intervals: str, before_start=None) -> tuple:
    """A fake whose history holds HISTORY_TRADES trades (passed with nobody
    listening, so the stream delivers none of them), and tickwire started
    with --warm-intervals against it. `before_start(fake)` scripts the API."""
    fake = fakes(frames, pki.server)
    fake.skip(HISTORY_TRADES)
    if before_start:
        before_start(fake)
    argv = harness.live_feed_argv(fake.url(), ca_file=pki.ca.cert, api_url=fake.api_url(),
                                  extra=["--warm-intervals", intervals])
    return fake, start_server(argv=argv)


def kline_requests(fake) -> list:
    return [r for r in fake.api.requests() if r.method == "klines"]


def wait_lines(server, pattern: re.Pattern, n: int) -> list[str]:
    reached = harness.wait_until(lambda: len(server.log.matching(pattern)) >= n, LOG_TIMEOUT_S)
    assert reached, f"{len(server.log.matching(pattern))} of {n} {pattern.pattern!r} lines:\n{server.log.tail(30)}"
    return server.log.matching(pattern)


def scrape(server) -> str:
    if server.metrics_port is None:
        server.wait_metrics_listening()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as response:
        return response.read().decode()


def by_pair(lines: list[str]) -> dict[tuple[str, str], str]:
    out = {}
    for line in lines:
        pair = (harness.metadata_str(line, "symbol"), harness.metadata_str(line, "interval"))
        assert pair not in out, f"{pair} logged twice: {line}"
        out[pair] = line
    return out


def test_startup_fetches_every_symbol_and_interval(pki, fakes, start_server, recorded_frames):
    fake, server = start_warming(start_server, fakes, pki, recorded_frames, "1s,1m")
    lines = by_pair(wait_lines(server, FETCH_COMPLETE_RE, 4))
    assert set(lines) == {(s, i) for s in SYMBOLS for i in ("1s", "1m")}
    requests = kline_requests(fake)
    assert len(requests) == 4 and all(r.status == 200 and r.limit == 1000 for r in requests), requests
    for r in requests:
        line = lines[(r.symbol, r.interval)]
        assert harness.metadata_int(line, "count") == r.returned > 0, (line, r)
        assert harness.metadata_int(line, "first_open_ms") == r.first_open_ms, (line, r)
        assert harness.metadata_int(line, "last_open_ms") == r.last_open_ms, (line, r)
        assert harness.metadata_int(line, "attempts") == 1, line
        assert 0 <= harness.metadata_int(line, "duration_ms") < LOG_TIMEOUT_S * 1000, line
    # 2,000 trades span about 50 s: dozens of 1s klines, a couple of 1m ones.
    assert all(r.returned > 20 for r in requests if r.interval == "1s"), requests
    assert all(r.returned <= 2 for r in requests if r.interval == "1m"), requests
    metrics = scrape(server)
    total = sum(r.returned for r in requests)
    for sample in ('tickwire_kline_fetches_total{outcome="fetched"} 4', 'tickwire_kline_fetches_total{outcome="failed"} 0',
                   "tickwire_kline_requests_total 4", "tickwire_kline_weight_spent_total 8",
                   f"tickwire_klines_fetched_total {total}", "tickwire_kline_fetch_retries_total 0"):
        assert sample in metrics, f"{sample!r} not in\n{metrics}"
    assert not server.log.matching(FETCH_FAILED_RE)


def test_an_error_reply_fails_that_fetch_and_the_others_complete(pki, fakes, start_server, recorded_frames):
    def refuse_first(fake):
        fake.api.fail_next(1, status=400, code=-1120, msg="Invalid interval.", method="klines")
    fake, server = start_warming(start_server, fakes, pki, recorded_frames, "1m", refuse_first)
    (failed,) = wait_lines(server, FETCH_FAILED_RE, 1)
    completed = by_pair(wait_lines(server, FETCH_COMPLETE_RE, 1))
    refused = kline_requests(fake)[0]
    assert refused.status == 400
    assert harness.metadata_str(failed, "symbol") == refused.symbol, failed
    assert "Invalid interval." in harness.metadata_str(failed, "reason"), failed
    assert harness.metadata_int(failed, "attempts") == 1, failed
    assert set(completed) == {(s, "1m") for s in SYMBOLS if s != refused.symbol}
    time.sleep(0.5)  # a 400 is not retried
    assert len(kline_requests(fake)) == 2, kline_requests(fake)
    metrics = scrape(server)
    assert 'tickwire_kline_fetches_total{outcome="failed"} 1' in metrics, metrics
    assert 'tickwire_kline_fetches_total{outcome="fetched"} 1' in metrics, metrics


def test_a_429_waits_for_retry_after_then_completes(pki, fakes, start_server, recorded_frames):
    retry_after_ms = []

    def rate_limit_first(fake):
        retry_after_ms.append(time.time_ns() // 1_000_000 + 2000)
        fake.api.fail_next(1, status=429, code=-1003, msg="Too many requests.",
                           retry_after_ms=retry_after_ms[0], method="klines")
    fake, server = start_warming(start_server, fakes, pki, recorded_frames, "1m",
                                 rate_limit_first)
    (retrying,) = wait_lines(server, FETCH_RETRYING_RE, 1)
    assert "429" in harness.metadata_str(retrying, "reason"), retrying
    assert 0 < harness.metadata_int(retrying, "retry_in_ms") <= 2000, retrying
    completed = by_pair(wait_lines(server, FETCH_COMPLETE_RE, 2))
    requests = kline_requests(fake)
    assert [r.status for r in requests] == [429, 200, 200], requests
    early_ms = retry_after_ms[0] - min(r.wall_ms for r in requests[1:])
    assert early_ms <= 0, f"asked again {early_ms} ms before the 429's retryAfter"
    assert harness.metadata_int(completed[(requests[0].symbol, "1m")], "attempts") == 2
    metrics = scrape(server)
    assert "tickwire_kline_fetch_retries_total 1" in metrics, metrics
    assert 'tickwire_kline_fetches_total{outcome="fetched"} 2' in metrics, metrics
    assert not server.log.matching(FETCH_FAILED_RE)


def test_a_connection_dropped_mid_request_is_retried_on_a_new_one(pki, fakes, start_server, recorded_frames):
    fake, server = start_warming(start_server, fakes, pki, recorded_frames, "1h",
                                 lambda fake: fake.api.drop_next(1, method="klines"))
    (retrying,) = wait_lines(server, FETCH_RETRYING_RE, 1)
    assert "connection ended mid-request" in harness.metadata_str(retrying, "reason"), retrying
    completed = by_pair(wait_lines(server, FETCH_COMPLETE_RE, 2))
    requests = kline_requests(fake)
    assert [r.status for r in requests] == [0, 200, 200], requests
    assert harness.metadata_int(completed[(requests[0].symbol, "1h")], "attempts") == 2
    assert fake.api.connections() == 2, "the retry went out on a second API connection"
    assert "tickwire_kline_fetch_retries_total 1" in scrape(server)
