"""The live Binance feed over the real binary, against a fake Binance (fake_binance.py).

tickwire runs without --replay, pointed with --binance-url at a TLS WebSocket
server on 127.0.0.1 that serves real recorded trades on Binance's combined
stream, on one shared live clock, and misbehaves on command. A grpcio
StreamPrices client reads what tickwire publishes.

Contract under test:
- tickwire asks for `/stream?streams=btcusdt@trade/ethusdt@trade`, verifies the
  certificate chain (--binance-ca-file) and the name (IP SAN for an IP URL, DNS
  SAN for a host name), and publishes every trade in arrival order with exact
  fields; ingest_unix_nanos is read after the frame left the fake.
- A ping from Binance is answered with a pong carrying the same payload; a
  quiet connection whose pongs answer tickwire's own pings (every
  min(5s, stale-timeout/3)) is not stale.
- A connection that drops or stalls (no frames for --stale-timeout) is replaced;
  the gRPC stream stays open, prices resume, and trades missed meanwhile are
  logged as `feed gap` with their exact count per symbol.
- A refused handshake is retried after a random wait in [c/2, c],
  c = min(cap, base * 2^n); a Retry-After is a minimum. A certificate that does
  not verify is never streamed from, and is retried with the same backoff.
- Frames that are not trades of a served symbol are skipped and counted
  (`feed frame skipped`), without replacing the connection.
- Rotation (--binance-max-connection-age, or Binance's serverShutdown event) is
  make-before-break: zero lost, zero duplicated trades at the client, also when
  the old connection lags behind the new one; the old connection is closed
  with code 1000, as it is at SIGTERM.

Tests: the end-to-end flow (path, TLS, exact fields, ingest stamps, exit
counters); a host-name URL; a TLS 1.2-only server; aggTrade streams in --symbols order; SIGTERM's close
1000; pings from Binance; a quiet feed kept alive by pings; a drop (FIN and RST)
with an exact gap; a stall; refused handshakes and Retry-After; garbage frames;
an unknown CA and wrong names; rotation by age, by serverShutdown, and with a
lagging old connection. Small timeouts (stale 2s, age 3s) keep the module under
about a minute.

A new stream is known to be registered before the clock starts because its
first request draws a SubscriptionStatus (harness.open_registered_stream): the
live feed has no --replay-wait-streams.
"""

from __future__ import annotations

import collections
import signal
import ssl
import time

import pytest

import fake_binance
import harness
from fake_binance import FakeBinance, Frame
from harness import (FEED_CONNECTED_RE, FEED_CONNECTING_RE, FEED_CONNECTION_FAILED_RE,
                     FEED_CONNECTION_LOST_RE, FEED_FRAME_SKIPPED_RE, FEED_GAP_RE,
                     FEED_ROTATION_COMPLETE_RE, FEED_ROTATION_STARTED_RE, FEED_STALE_RE, STOPPED_RE,
                     metadata_int, metadata_str)

STREAM_PATH = "/stream?streams=btcusdt@trade/ethusdt@trade"
# From start (or from a failure) to a WebSocket at the fake.
CONNECT_TIMEOUT_S = 10.0
# How long a log line the server must write "now" may take to show up.
LOG_TIMEOUT_S = 5.0
# Until the gRPC client has every trade the fake sent.
DELIVERY_TIMEOUT_S = 15.0
# Once the clock is paused, until the client has everything that was sent.
SETTLE_TIMEOUT_S = 5.0
# After the last expected price, how long to keep listening for extras.
EXTRA_MESSAGE_GRACE_S = 0.3
# Contract bounds.
MIN_RETRY_INTERVAL_S = 0.100
FIRST_RETRY_BOUND_S = 2.0
PING_ANSWER_BOUND_S = 1.0
ROTATION_START_BOUND_S = 1.0
SERVER_SHUTDOWN_NEW_CONNECTION_BOUND_S = 2.0
# --stale-timeout 1500ms: pings every 500 ms, checked on a 150 ms tick.
QUIET_PING_GAP_BOUND_S = 0.9
NOT_FOUND = 5


# --------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> fake_binance.TestPKI:
    return fake_binance.make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def recorded_frames() -> list[Frame]:
    frames = fake_binance.load_frames(harness.TRADES_FIXTURE)
    assert len(frames) == harness.FIXTURE_TRADE_COUNT, "trades fixture changed"
    return frames


@pytest.fixture
def fakes():
    """Factory: fakes(certificate, frames, rate=...) -> a started FakeBinance, stopped at teardown.

    List it before start_server in a test's arguments, so that tickwire is
    stopped (and closes its feed) before the fake goes away."""
    with fake_binance.started_fakes(200.0) as make:
        yield lambda certificate, frames, **kwargs: make(frames, certificate, **kwargs)


def start_live(start_server, fake: FakeBinance, ca: fake_binance.CertificateAuthority,
               host: str = "127.0.0.1", **options) -> harness.TickwireServer:
    argv = harness.live_feed_argv(fake.url(host), ca_file=ca.cert, **options)
    return start_server(argv=argv)


def open_prices(make_channel, make_collector, server: harness.TickwireServer,
                name: str = "client", deadline_s: float = 120.0) -> harness.StreamCollector:
    """A StreamPrices stream the server has registered (see harness.open_registered_stream)."""
    chan = make_channel(server.target)
    harness.wait_channel_ready(chan)
    collector = harness.open_registered_stream(chan, make_collector, name=name, deadline_s=deadline_s)
    status = next(r.status for r in collector.non_prices() if r.WhichOneof("payload") == "status")
    assert status.code == NOT_FOUND, f"barrier request: want NOT_FOUND, got {status}"
    return collector


def trades_of(frames: list[Frame]) -> list[harness.Trade]:
    return [harness.trade_from_frame(f.text) for f in frames]


def received_trades(collector: harness.StreamCollector) -> list[harness.Trade]:
    return [harness.trade_from_update(item.response.price) for item in collector.prices()]


def by_symbol(trades) -> dict[str, list]:
    out: dict[str, list] = collections.defaultdict(list)
    for t in trades:
        out[t.symbol].append(t)
    return dict(out)


def context(server: harness.TickwireServer, fake: FakeBinance) -> str:
    connections = "\n".join(f"  {fake_binance.describe_connection(r)}" for r in fake.connections()) or "  none"
    return (f"\nfake: clock at {fake.position()}, connections:\n{connections}"
            f"\nserver log tail:\n{server.log.tail(30)}")


def wait_prices(collector: harness.StreamCollector, n: int, timeout_s: float,
                server: harness.TickwireServer, fake: FakeBinance) -> None:
    reached = harness.wait_until(lambda: len(collector.prices()) >= n, timeout_s)
    assert reached, (f"{collector.name}: {len(collector.prices())} of {n} prices within {timeout_s}s; "
                     f"{collector.describe_end()}{context(server, fake)}")


def settle(collector, fake, server, expected: int) -> None:
    """Waits for `expected` prices (the clock paused), then a grace for extras."""
    wait_prices(collector, expected, SETTLE_TIMEOUT_S, server, fake)
    time.sleep(EXTRA_MESSAGE_GRACE_S)


def streaming_at_300_per_s(pki, fakes, start_server, grpc_channels, collectors, recorded_frames, **live):
    """The rotation tests' opening: a fake clock at 300 trades/s, tickwire on
    it, one client that has already received 200 prices."""
    fake = fakes(pki.server, recorded_frames, rate=300)
    server = start_live(start_server, fake, pki.ca, **live)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    wait_prices(client, 200, DELIVERY_TIMEOUT_S, server, fake)
    return fake, server, client


def stop_clock_and_assert_everything_arrived(client, fake, server, after_s: float) -> None:
    """After `after_s` more seconds of trades, stops the clock; the client must
    have every trade the fake published, per symbol in order, none twice."""
    time.sleep(after_s)
    fake.pause()
    published = fake.published_frames()
    settle(client, fake, server, len(published))
    assert not client.finished, client.describe_end()
    assert_exactly_per_symbol(client, trades_of(published))


def assert_exactly(collector: harness.StreamCollector, want: list[harness.Trade]) -> None:
    got = received_trades(collector)
    assert got == want, f"{collector.name}: {harness.first_difference(got, want)}"


def assert_exactly_per_symbol(collector: harness.StreamCollector, want: list[harness.Trade]) -> None:
    """Per symbol: the same trades, in order, none lost, none twice. (Across
    symbols, two connections read in turn may legitimately interleave.)"""
    got = by_symbol(received_trades(collector))
    wanted = by_symbol(want)
    assert set(got) == set(wanted), f"symbols: got {sorted(got)}, want {sorted(wanted)}"
    for symbol in wanted:
        g, w = got[symbol], wanted[symbol]
        ids = [t.trade_id for t in g]
        duplicates = [i for i, n in collections.Counter(ids).items() if n > 1]
        missing = sorted({t.trade_id for t in w} - set(ids))
        assert g == w, (f"{collector.name} {symbol}: {harness.first_difference(g, w)}; "
                        f"{len(duplicates)} duplicated ids (first {duplicates[:5]}), "
                        f"{len(missing)} missing ids (first {missing[:5]})")


def stopped_line(server: harness.TickwireServer, *clients: harness.StreamCollector) -> str:
    """SIGTERM, exit 0, and the `stopped` line. The clients are cancelled first
    so that the drain does not wait for them."""
    for client in clients:
        client.cancel()
    code = server.stop()
    assert code == 0, f"exit code {code}; log tail:\n{server.log.tail()}"
    lines = server.log.matching(STOPPED_RE)
    assert lines, f"no `stopped` line; log tail:\n{server.log.tail()}"
    return lines[-1]


def lines_after(server, regex, since: int = 0) -> list[str]:
    return server.log.matching(regex, since)


def assert_retry_intervals(times: list[float], what: str) -> list[float]:
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps, f"{what}: need two attempts, saw {len(times)}"
    assert all(g >= MIN_RETRY_INTERVAL_S for g in gaps), (
        f"{what}: attempts closer than {MIN_RETRY_INTERVAL_S * 1000:.0f} ms: intervals {gaps}")
    return gaps


# --------------------------------------------------------------------------
# Normal flow
# --------------------------------------------------------------------------

def test_trades_flow_end_to_end_with_exact_fields(pki, fakes, start_server, grpc_channels, collectors,
                                                  recorded_frames):
    frames = recorded_frames[:4000]
    fake = fakes(pki.server, frames, rate=2000)
    server = start_live(start_server, fake, pki.ca)
    record = fake.wait_open(1, CONNECT_TIMEOUT_S)
    assert record.path == STREAM_PATH, f"tickwire asked for {record.path!r}"
    assert record.tls_version in ("TLSv1.2", "TLSv1.3"), record
    _, connecting = server.log.wait_for(FEED_CONNECTING_RE, LOG_TIMEOUT_S)
    assert metadata_str(connecting, "purpose") == "startup", connecting
    assert metadata_int(connecting, "connection") == 1, connecting
    assert metadata_str(connecting, "url").startswith(fake.url()), connecting
    _, connected = server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    assert metadata_int(connected, "connection") == 1, connected
    assert "1.2" in metadata_str(connected, "tls_version") or "1.3" in metadata_str(connected, "tls_version"), connected
    metadata_int(connected, "handshake_ms")

    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    fake.wait_position(len(frames), 10)
    settle(client, fake, server, len(frames))
    assert not client.finished, client.describe_end()
    assert_exactly(client, trades_of(frames))
    assert fake.published_indices() == list(range(len(frames)))
    # Same host clock (CLOCK_REALTIME is one clock for every process): the fake
    # stamps a trade before it hands the frame to TLS, so tickwire can only read
    # it later; and the client receives it later still.
    misplaced = []
    for index, item in enumerate(client.prices()):
        ingest, queued = item.response.price.ingest_unix_nanos, fake.publish_wall_ns(index)
        if not queued <= ingest <= item.recv_wall_ns:
            misplaced.append((index, (ingest - queued) / 1e6, (item.recv_wall_ns - ingest) / 1e6))
    assert len(fake.connections()) == 1, context(server, fake)
    assert not lines_after(server, FEED_GAP_RE), context(server, fake)

    stopped = stopped_line(server, client)
    assert metadata_int(stopped, "feed_trades") == len(frames), stopped
    assert metadata_int(stopped, "feed_gap_trades") == 0, stopped
    assert metadata_int(stopped, "feed_duplicates_dropped") == 0, stopped
    assert metadata_int(stopped, "feed_skipped_frames") == 0, stopped
    assert metadata_int(stopped, "feed_connections_opened") == 1, stopped
    assert not misplaced, (
        f"{len(misplaced)} of {len(frames)} ingest_unix_nanos not between the fake queueing the frame and "
        f"the client receiving it; first (index, ingest - queued ms, received - ingest ms): {misplaced[:5]}; "
        f"earliest relative to queueing: {min(m[1] for m in misplaced):.3f} ms")


def test_host_name_url_is_verified_against_dns_san(pki, fakes, start_server, grpc_channels, collectors,
                                                   recorded_frames):
    frames = recorded_frames[:200]
    fake = fakes(pki.server, frames, rate=1000)
    server = start_live(start_server, fake, pki.ca, host="localhost")
    record = fake.wait_open(1, CONNECT_TIMEOUT_S)
    assert record.path == STREAM_PATH, record
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    settle(client, fake, server, len(frames))
    assert_exactly(client, trades_of(frames))


def test_tls_1_2_server_is_accepted(pki, fakes, start_server, grpc_channels, collectors, recorded_frames):
    frames = recorded_frames[:100]
    fake = fakes(pki.server, frames, rate=1000, tls_max_version=ssl.TLSVersion.TLSv1_2)
    server = start_live(start_server, fake, pki.ca)
    assert fake.wait_open(1, CONNECT_TIMEOUT_S).tls_version == "TLSv1.2"
    _, connected = server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    assert "1.2" in metadata_str(connected, "tls_version"), connected
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    settle(client, fake, server, len(frames))
    assert_exactly(client, trades_of(frames))


def test_agg_trade_streams_in_symbols_order(pki, fakes, start_server, grpc_channels, collectors,
                                            recorded_frames):
    frames = fake_binance.as_agg_trades(recorded_frames[:500])
    fake = fakes(pki.server, frames, rate=1000)
    argv = harness.live_feed_argv(fake.url(), ca_file=pki.ca.cert, stream="aggTrade", symbols="ethusdt,btcusdt")
    server = start_server(argv=argv)
    record = fake.wait_open(1, CONNECT_TIMEOUT_S)
    assert record.path == "/stream?streams=ethusdt@aggTrade/btcusdt@aggTrade", record.path
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    settle(client, fake, server, len(frames))
    assert_exactly(client, trades_of(frames))


def test_sigterm_closes_the_feed_with_code_1000(pki, fakes, start_server, recorded_frames):
    fake = fakes(pki.server, recorded_frames, rate=200, paused=False)
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    time.sleep(0.3)  # trades flowing
    since = server.log.count()
    signalled = time.monotonic()
    server.send_signal(signal.SIGTERM)
    code = server.proc.wait(harness.STOP_TIMEOUT_S)
    exited = time.monotonic()
    assert code == 0, f"exit code {code}{context(server, fake)}"
    record = fake.wait_closed(1, 2.0)
    assert record.close_code_received == 1000, (
        f"fake saw close code {record.close_code_received} (None: no close frame){context(server, fake)}")
    assert record.close_received_first, "tickwire must start the closing handshake"
    assert signalled <= record.closed_mono <= exited + 0.5, (record.closed_mono - signalled, exited - signalled)
    assert len(fake.connections()) == 1, f"reconnected while stopping{context(server, fake)}"
    server.log.join(2)
    assert not lines_after(server, FEED_CONNECTION_LOST_RE, since), context(server, fake)
    assert not lines_after(server, FEED_CONNECTION_FAILED_RE, since), context(server, fake)


# --------------------------------------------------------------------------
# Keepalive
# --------------------------------------------------------------------------

def test_ping_is_answered_with_the_same_payload(pki, fakes, start_server, recorded_frames):
    fake = fakes(pki.server, recorded_frames, rate=200, paused=False)
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    payloads = [b"", b"tickwire?", bytes(range(125)), b"\x00\xff" * 10]
    for payload in payloads:
        try:
            latency = fake.ping(1, payload, PING_ANSWER_BOUND_S)
        except TimeoutError:
            pytest.fail(f"no pong with payload {payload!r} within {PING_ANSWER_BOUND_S}s; pongs seen: "
                        f"{[p for _, p in fake.connection(1).pongs]}{context(server, fake)}")
        assert latency < PING_ANSWER_BOUND_S, (payload, latency)
    pongs = [p for _, p in fake.connection(1).pongs]
    for payload in payloads:
        assert payload in pongs, (payload, pongs)
    assert len(fake.connections()) == 1, context(server, fake)


def test_quiet_feed_is_kept_alive_by_pings(pki, fakes, start_server, recorded_frames):
    """No trades for three stale timeouts, but the fake answers pings: the
    connection is alive, so tickwire must neither call it stale nor replace it."""
    fake = fakes(pki.server, recorded_frames, rate=200)
    server = start_live(start_server, fake, pki.ca, stale_timeout="1500ms")
    opened = fake.wait_open(1, CONNECT_TIMEOUT_S).opened_mono
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    fake.publish_now(20)
    time.sleep(4.5)
    record = fake.connection(1)
    assert len(fake.connections()) == 1, f"quiet connection replaced{context(server, fake)}"
    assert record.closed_mono is None, context(server, fake)
    assert not lines_after(server, FEED_STALE_RE), context(server, fake)
    # A ping every min(5s, 1.5s / 3) = 500 ms, give or take the server's
    # maintenance tick (stale-timeout / 10 = 150 ms) and scheduling.
    marks = [opened] + [t for t, _ in record.pings] + [time.monotonic()]
    longest = max(b - a for a, b in zip(marks, marks[1:]))
    assert len(record.pings) >= 4 and longest <= QUIET_PING_GAP_BOUND_S, (
        f"{len(record.pings)} pings from tickwire with --stale-timeout 1500ms, longest silence "
        f"{longest:.2f}s (want one every 500 ms): at {[round(t - opened, 2) for t, _ in record.pings]}")


# --------------------------------------------------------------------------
# Losing the connection
# --------------------------------------------------------------------------

@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_abrupt_drop_reconnects_and_logs_the_exact_gap(pki, fakes, start_server, grpc_channels, collectors,
                                                       recorded_frames, reset):
    frames = recorded_frames[:2000]
    fake = fakes(pki.server, frames)
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.publish_now(800)
    wait_prices(client, 800, DELIVERY_TIMEOUT_S, server, fake)
    before_drop = server.log.count()

    fake.drop(1, reset=reset)  # no close frame, no close_notify: FIN, or RST
    skipped = fake.skip(300)  # the market goes on while nobody listens
    missing = collections.Counter(f.symbol for f in skipped)
    assert set(missing) == {"BTCUSDT", "ETHUSDT"}, missing

    _, lost = server.log.wait_for(FEED_CONNECTION_LOST_RE, LOG_TIMEOUT_S, before_drop)
    assert metadata_int(lost, "connection") == 1, lost
    fake.wait_open(2, CONNECT_TIMEOUT_S)
    _, connecting = server.log.wait_for(FEED_CONNECTING_RE, LOG_TIMEOUT_S, before_drop)
    assert metadata_str(connecting, "purpose") == "reconnect", connecting
    _, connected = server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S, before_drop)
    assert metadata_int(connected, "connection") == 2, connected
    assert fake.connection(2).path == STREAM_PATH

    fake.publish_now(len(frames))
    published = fake.published_frames()
    assert len(published) == len(frames) - 300
    settle(client, fake, server, len(published))
    assert not client.finished, f"gRPC stream ended: {client.describe_end()}"
    assert_exactly(client, trades_of(published))

    # One `feed gap` per symbol, with what the fake skipped.
    gaps = {metadata_str(line, "symbol"): line for line in lines_after(server, FEED_GAP_RE)}
    assert set(gaps) == set(missing), f"gap lines {list(gaps.values())}, skipped per symbol {dict(missing)}"
    assert len(lines_after(server, FEED_GAP_RE)) == 2, lines_after(server, FEED_GAP_RE)
    for symbol, count in missing.items():
        line = gaps[symbol]
        before = [f.trade_id for f in frames[:800] if f.symbol == symbol][-1]
        after = [f.trade_id for f in frames[1100:] if f.symbol == symbol][0]
        assert metadata_int(line, "missing_trades") == count, (line, count)
        assert metadata_int(line, "last_id") == before, (line, before)
        assert metadata_int(line, "next_id") == after, (line, after)

    stopped = stopped_line(server, client)
    assert metadata_int(stopped, "feed_gap_trades") == 300, stopped
    assert metadata_int(stopped, "feed_trades") == len(published), stopped
    assert metadata_int(stopped, "feed_connections_opened") == 2, stopped


def test_stalled_connection_is_replaced_after_the_stale_timeout(pki, fakes, start_server, grpc_channels,
                                                                collectors, recorded_frames):
    fake = fakes(pki.server, recorded_frames, rate=200)
    server = start_live(start_server, fake, pki.ca, stale_timeout="2s")
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    wait_prices(client, 100, DELIVERY_TIMEOUT_S, server, fake)
    since = server.log.count()

    fake.stall(1)
    replacement = fake.wait_open(2, 10.0)
    stalled = fake.connection(1)  # read now: a send under way at stall() ends after it
    silent_from = stalled.last_frame_mono or stalled.stalled_mono
    waited = replacement.accepted_mono - silent_from
    assert 2.0 <= waited <= 6.0, (
        f"new connection {waited:.2f}s after the last frame on the stalled one "
        f"(--stale-timeout 2s; want 2-6 s){context(server, fake)}")
    _, stale = server.log.wait_for(FEED_STALE_RE, LOG_TIMEOUT_S, since)
    assert metadata_int(stale, "connection") == 1, stale
    assert metadata_int(stale, "silent_ms") >= 2000, stale
    _, lost = server.log.wait_for(FEED_CONNECTION_LOST_RE, LOG_TIMEOUT_S, since)
    assert metadata_int(lost, "connection") == 1, lost

    count = len(client.prices())
    wait_prices(client, count + 100, DELIVERY_TIMEOUT_S, server, fake)
    assert not client.finished, client.describe_end()
    fake.pause()
    # What arrived is still in order per symbol and never twice.
    for symbol, trades in by_symbol(received_trades(client)).items():
        ids = [t.trade_id for t in trades]
        assert ids == sorted(set(ids)), f"{symbol}: out of order or duplicated after the stall"


def test_refused_handshakes_are_retried_with_growing_backoff(pki, fakes, start_server, grpc_channels,
                                                             collectors, recorded_frames):
    fake = fakes(pki.server, recorded_frames[:500], rate=1000)
    fake.refuse_next(2, status=503)
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(3, 3 * CONNECT_TIMEOUT_S)
    records = fake.connections()
    assert [r.status for r in records] == [503, 503, 101], context(server, fake)
    times = [r.accepted_mono for r in records]
    gaps = assert_retry_intervals(times, "503 retries")
    assert gaps[0] <= FIRST_RETRY_BOUND_S, f"first retry after {gaps[0]:.3f}s"
    assert gaps[1] > gaps[0], f"retry intervals do not grow: {gaps}"

    failed = lines_after(server, FEED_CONNECTION_FAILED_RE)
    assert len(failed) == 2, failed
    for n, (line, gap) in enumerate(zip(failed, gaps)):
        assert "503" in metadata_str(line, "reason"), line
        assert metadata_int(line, "failures") == n + 1, line
        retry_ms = metadata_int(line, "retry_in_ms")
        low, high = 500 * 2 ** n, 1000 * 2 ** n  # [c/2, c], c = 1s * 2^n
        assert low <= retry_ms <= high, f"retry {n}: retry_in_ms={retry_ms}, want {low}-{high}: {line}"
        # The next attempt comes after the announced wait, and not much later.
        assert retry_ms / 1000 - 0.020 <= gap <= retry_ms / 1000 + 0.5, (line, gap)
    _, connected = server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    assert metadata_int(connected, "connection") == 3, connected

    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    settle(client, fake, server, len(fake.frames))
    assert_exactly(client, trades_of(fake.frames))


def test_retry_after_is_honoured(pki, fakes, start_server, recorded_frames):
    fake = fakes(pki.server, recorded_frames, rate=200)
    fake.refuse_next(1, status=503, retry_after=2)
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(2, CONNECT_TIMEOUT_S)
    first, second = fake.connections()[:2]
    assert first.status == 503 and second.status == 101, context(server, fake)
    waited = second.accepted_mono - first.accepted_mono
    assert 2.0 <= waited <= 3.5, f"retry {waited:.3f}s after a 503 with Retry-After: 2{context(server, fake)}"
    failed = lines_after(server, FEED_CONNECTION_FAILED_RE)
    assert len(failed) == 1, failed
    assert metadata_int(failed[0], "retry_in_ms") >= 2000, failed[0]


# --------------------------------------------------------------------------
# Frames that are not trades
# --------------------------------------------------------------------------

def test_garbage_frames_are_skipped_without_reconnecting(pki, fakes, start_server, grpc_channels,
                                                         collectors, recorded_frames):
    frames = recorded_frames[:3000]
    fake = fakes(pki.server, frames)
    bnb = frames[0].text.replace("btcusdt@trade", "bnbusdt@trade").replace('"BTCUSDT"', '"BNBUSDT"')
    assert "BNBUSDT" in bnb and "btcusdt" not in bnb, "first fixture frame should be BTCUSDT"
    garbage = {
        0: ["this is not json"],                                   # malformed
        1: [fake_binance.kline_event("BTCUSDT")],                   # unknown_event
        2: [b"\x00\x01\x02binary"],                                 # binary
        500: [bnb],                                                 # unknown_symbol
        1500: ['{"stream":"btcusdt@trade","data":{"e":"trade"'],    # malformed (truncated)
        1501: [""],                                                 # malformed (an empty text frame)
        2999: [fake_binance.kline_event("ETHUSDT"), b"\xff" * 40],  # unknown_event, binary
    }
    reasons = {"malformed": 3, "unknown_event": 2, "binary": 2, "unknown_symbol": 1}
    total = sum(reasons.values())
    for index, items in garbage.items():
        fake.inject_at(index, items)
    server = start_live(start_server, fake, pki.ca)
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume(rate=2000)
    fake.wait_position(len(frames), 10)
    settle(client, fake, server, len(frames))
    assert_exactly(client, trades_of(frames))
    assert not client.finished, client.describe_end()
    assert len(fake.connections()) == 1, f"connection replaced{context(server, fake)}"
    assert fake.connection(1).closed_mono is None, context(server, fake)
    assert not lines_after(server, FEED_CONNECTION_LOST_RE), context(server, fake)

    skipped_lines = lines_after(server, FEED_FRAME_SKIPPED_RE)
    seen = collections.Counter(metadata_str(line, "reason") for line in skipped_lines)
    assert set(seen) == set(reasons), f"skip reasons logged {dict(seen)}, want {sorted(reasons)}:\n" + \
        "\n".join(skipped_lines)
    for line in skipped_lines:
        assert metadata_int(line, "connection") == 1, line
        assert metadata_int(line, "skipped_total") <= total, line
    stopped = stopped_line(server, client)
    assert metadata_int(stopped, "feed_skipped_frames") == total, stopped
    assert metadata_int(stopped, "feed_trades") == len(frames), stopped


# --------------------------------------------------------------------------
# Certificates that must not verify
# --------------------------------------------------------------------------

def assert_refused_and_retried(server, fake, client, what: str) -> None:
    records = fake.wait_attempts(2, 5.0)
    time.sleep(0.3)
    records = fake.connections()
    assert_retry_intervals([r.accepted_mono for r in records], what)
    requested = [r for r in records if r.path is not None]
    assert not requested, f"{what}: tickwire sent an HTTP request over an unverified TLS session{context(server, fake)}"
    failed = lines_after(server, FEED_CONNECTION_FAILED_RE)
    assert len(failed) >= 2, f"{what}: {len(failed)} `feed connection failed` lines{context(server, fake)}"
    for line in failed:
        assert "certificate verify failed" in metadata_str(line, "reason"), line
    assert not lines_after(server, FEED_CONNECTED_RE), context(server, fake)
    assert fake.position() > 0 and not client.prices(), (
        f"{what}: the client received {len(client.prices())} prices")
    assert not client.finished, client.describe_end()


def test_certificate_from_an_unknown_ca_is_refused(pki, fakes, start_server, grpc_channels, collectors,
                                                   recorded_frames):
    fake = fakes(pki.server_other_ca, recorded_frames, rate=200, paused=False)
    server = start_live(start_server, fake, pki.ca)
    client = open_prices(grpc_channels, collectors, server)
    assert_refused_and_retried(server, fake, client, "unknown CA")


@pytest.mark.parametrize("host, mismatch", [("127.0.0.1", "IP address mismatch"),
                                            ("localhost", "mismatch")])
def test_certificate_for_another_name_is_refused(pki, fakes, start_server, grpc_channels, collectors,
                                                 recorded_frames, host, mismatch):
    fake = fakes(pki.server_wrong_name, recorded_frames, rate=200, paused=False)
    server = start_live(start_server, fake, pki.ca, host=host)
    client = open_prices(grpc_channels, collectors, server)
    assert_refused_and_retried(server, fake, client, f"wrong name via {host}")
    # OpenSSL names the mismatch; tickwire passes it on.
    reasons = [metadata_str(line, "reason") for line in lines_after(server, FEED_CONNECTION_FAILED_RE)]
    assert any(mismatch in r for r in reasons), reasons


# --------------------------------------------------------------------------
# Rotation
# --------------------------------------------------------------------------

def test_max_age_rotation_loses_and_duplicates_nothing(pki, fakes, start_server, grpc_channels, collectors,
                                                       recorded_frames):
    fake = fakes(pki.server, recorded_frames, rate=300)
    server = start_live(start_server, fake, pki.ca, max_connection_age="3s")
    first = fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    index, complete1 = server.log.wait_for(FEED_ROTATION_COMPLETE_RE, 8.0)
    _, complete2 = server.log.wait_for(FEED_ROTATION_COMPLETE_RE, 8.0, index + 1)
    stop_clock_and_assert_everything_arrived(client, fake, server, after_s=0.5)

    started = lines_after(server, FEED_ROTATION_STARTED_RE)
    assert len(started) >= 2, started
    for n, line in enumerate(started[:2]):
        assert metadata_str(line, "reason") == "max_age", line
        assert (metadata_int(line, "connection"), metadata_int(line, "candidate")) == (n + 1, n + 2), line
    assert (metadata_int(complete1, "from"), metadata_int(complete1, "to")) == (1, 2), complete1
    assert (metadata_int(complete2, "from"), metadata_int(complete2, "to")) == (2, 3), complete2
    # Not before the age is reached; after it within one maintenance tick
    # (min(1s, stale-timeout/10) = 1 s here) plus scheduling slack.
    second = fake.connection(2)
    age = second.accepted_mono - first.opened_mono
    assert 2.95 <= age <= 4.5, f"rotation began {age:.2f}s after connection 1 opened (max age 3s)"
    for old in (1, 2):
        record = fake.wait_closed(old, 3.0)
        assert record.close_code_received == 1000, (
            f"connection {old} closed with code {record.close_code_received}{context(server, fake)}")
        assert record.close_received_first, f"connection {old}: tickwire did not start the close"
    assert not lines_after(server, FEED_GAP_RE), context(server, fake)
    assert not lines_after(server, FEED_CONNECTION_LOST_RE), context(server, fake)

    duplicates = sum(metadata_int(line, "duplicates_dropped")
                     for line in lines_after(server, FEED_ROTATION_COMPLETE_RE))
    stopped = stopped_line(server, client)
    assert metadata_int(stopped, "feed_gap_trades") == 0, stopped
    assert metadata_int(stopped, "feed_duplicates_dropped") == duplicates, stopped
    assert metadata_int(stopped, "feed_connections_opened") == len(fake.websocket_connections()), stopped


def test_server_shutdown_event_starts_a_rotation_at_once(pki, fakes, start_server, grpc_channels, collectors,
                                                         recorded_frames):
    fake, server, client = streaming_at_300_per_s(pki, fakes, start_server, grpc_channels, collectors,
                                                  recorded_frames)
    since = server.log.count()

    announced = time.monotonic()
    fake.send_server_shutdown(1, close_after_s=3.0)
    _, started = server.log.wait_for(FEED_ROTATION_STARTED_RE, ROTATION_START_BOUND_S + 0.5, since)
    started_after = time.monotonic() - announced
    assert started_after <= ROTATION_START_BOUND_S, f"rotation started {started_after:.2f}s after serverShutdown"
    assert metadata_str(started, "reason") == "server_shutdown", started
    assert (metadata_int(started, "connection"), metadata_int(started, "candidate")) == (1, 2), started
    candidate = fake.wait_open(2, SERVER_SHUTDOWN_NEW_CONNECTION_BOUND_S + 1.0)
    assert candidate.accepted_mono - announced <= SERVER_SHUTDOWN_NEW_CONNECTION_BOUND_S, context(server, fake)
    _, complete = server.log.wait_for(FEED_ROTATION_COMPLETE_RE, LOG_TIMEOUT_S, since)
    assert (metadata_int(complete, "from"), metadata_int(complete, "to")) == (1, 2), complete
    fake.wait_closed(1, 5.0)  # by tickwire after the rotation, or by the fake after 3 s
    stop_clock_and_assert_everything_arrived(client, fake, server, after_s=0.5)
    assert not lines_after(server, FEED_GAP_RE), context(server, fake)
    assert len(fake.connections()) == 2, f"more connections than the rotation needs{context(server, fake)}"


def test_rotation_waits_for_a_lagging_old_connection(pki, fakes, start_server, grpc_channels, collectors,
                                                     recorded_frames):
    """Make-before-break when the old connection is behind. After the
    serverShutdown event the old connection lags 3.5 s (its trades queue up at
    the fake) from before the candidate can exist, and the first candidate
    attempt is refused, so the candidate that streams opens after the 0.5-1 s
    backoff at the live position, hundreds of trades later. Those trades exist
    only on the lagging old connection: switching on the candidate's first
    trade (or on mere per-symbol continuity) would lose them."""
    fake, server, client = streaming_at_300_per_s(pki, fakes, start_server, grpc_channels, collectors,
                                                  recorded_frames)
    since = server.log.count()

    fake.refuse_next(1, status=503)
    fake.send_server_shutdown(1, close_after_s=6.0)
    fake.wait_sent(1, 2.0)
    fake.hold(1, 3.5)
    held_from = fake.position()
    candidate = fake.wait_open(3, 2 * CONNECT_TIMEOUT_S)
    only_on_old = fake.position() - held_from
    assert only_on_old >= 50, (
        f"only {only_on_old} trades were published to the lagging connection alone: "
        f"the test would not tell a premature switch from a correct one{context(server, fake)}")
    _, complete = server.log.wait_for(FEED_ROTATION_COMPLETE_RE, LOG_TIMEOUT_S, since)
    assert (metadata_int(complete, "from"), metadata_int(complete, "to")) == (1, 3), complete
    stop_clock_and_assert_everything_arrived(client, fake, server, after_s=1.0)
    assert not lines_after(server, FEED_GAP_RE), (
        f"{only_on_old} trades were published only to the lagging connection{context(server, fake)}")
    assert candidate.path == STREAM_PATH
