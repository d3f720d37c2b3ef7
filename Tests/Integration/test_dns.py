"""DNS off the loop: the live feed's host name is resolved by c-ares inside the
reactor, never by a blocking getaddrinfo on the loop thread.

tickwire runs against the fake Binance (fake_binance.py) under a host name
that only a test DNS server knows: dnslib on 127.0.0.1, in a thread of this
test, named with --dns-servers. The fake's certificate carries that name.

Contract under test:
- While a lookup is slow (the DNS server answers only after 3 s) and a
  rotation is due (Binance's serverShutdown event), the old connection keeps
  delivering: the gRPC client sees no gap longer than MAX_GAP_S in its prices,
  and the process stays one thread. The new connection opens only once the
  answer came, takes over, and no trade is lost or repeated.
- A name that does not resolve is logged in the resolver's words ("name does
  not resolve"), not as an errno such as "No route to host"; a DNS server that
  never answers gives "resolver timed out". The gRPC side keeps serving.
- Every address a name resolves to is tried before the attempt fails: the
  failure's reason names each one.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time

import pytest
from dnslib import AAAA, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

import fake_binance
import harness
from fake_binance import FakeBinance, Frame
from harness import (FEED_CONNECTED_RE, FEED_CONNECTION_FAILED_RE, FEED_GAP_RE, FEED_ROTATION_COMPLETE_RE,
                     FEED_ROTATION_STARTED_RE, metadata_int, metadata_str)

FEED_NAME = "stream.tickwire.test"
MISSING_NAME = "nowhere.tickwire.test"
REFUSING_NAME = "refusing.tickwire.test"
# The slow lookup: the DNS server holds every answer this long.
SLOW_ANSWER_S = 3.0
# Longest pause allowed between two prices while the lookup is pending (the
# fake sends 300 trades a second; a loop blocked on DNS would stall for 3 s).
MAX_GAP_S = 1.0
CONNECT_TIMEOUT_S = 10.0
LOG_TIMEOUT_S = 5.0
DELIVERY_TIMEOUT_S = 15.0
SETTLE_TIMEOUT_S = 5.0
NOT_FOUND = 5


class ScriptedResolver(BaseResolver):
    """Answers A queries for the names it knows (TTL 0: nothing is cached),
    AAAA with no data, anything else NXDOMAIN; every answer after `delay_s`.
    Records each query's arrival and answer times."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.delay_s = 0.0
        self.released = threading.Event()  # set at teardown: held answers go at once
        self._lock = threading.Lock()
        self.queries: list[tuple[float, str, str]] = []   # (arrival, name, type)
        self.answers: list[tuple[float, str, str]] = []   # (answered, name, type)

    def resolve(self, request, handler):
        name = str(request.q.qname).rstrip(".")
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self.queries.append((time.monotonic(), name, qtype))
            delay = self.delay_s
        if delay > 0:
            self.released.wait(delay)
        reply = request.reply()
        addresses = self.names.get(name)
        if addresses is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif qtype == "A":
            for address in addresses:
                reply.add_answer(RR(name, QTYPE.A, rdata=A(address), ttl=0))
        elif qtype == "AAAA":
            pass  # NOERROR, no data: the name has IPv4 addresses only
        with self._lock:
            self.answers.append((time.monotonic(), name, qtype))
        return reply

    def queries_for(self, name: str, since: float = 0.0) -> list[tuple[float, str, str]]:
        with self._lock:
            return [q for q in self.queries if q[1] == name and q[0] >= since]

    def answers_for(self, name: str, since: float = 0.0) -> list[tuple[float, str, str]]:
        with self._lock:
            return [a for a in self.answers if a[1] == name and a[0] >= since]


@pytest.fixture
def dns_server():
    """Factory: dns_server(names) -> (resolver, "127.0.0.1:PORT"); stopped at teardown."""
    started: list[tuple[ScriptedResolver, DNSServer]] = []

    def start(names: dict[str, list[str]]) -> tuple[ScriptedResolver, str]:
        resolver = ScriptedResolver(names)
        server = DNSServer(resolver, address="127.0.0.1", port=0,
                           logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data",
                                            logf=lambda _: None))
        server.start_thread()
        started.append((resolver, server))
        return resolver, f"127.0.0.1:{server.server.server_address[1]}"

    yield start
    for resolver, server in started:
        resolver.released.set()
        server.stop()
        server.server.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = fake_binance.make_ca(directory, "ca", "Tickwire DNS Test CA")
    server = fake_binance.issue_server_cert(ca, directory, "server",
                                            sans=(f"DNS:{FEED_NAME}", "DNS:localhost", "IP:127.0.0.1"))
    return ca, server


@pytest.fixture(scope="module")
def recorded_frames() -> list[Frame]:
    return fake_binance.load_frames(harness.TRADES_FIXTURE)


@pytest.fixture
def fakes():
    """Factory: fakes(certificate, frames, rate=...), stopped at teardown (list it before start_server)."""
    with fake_binance.started_fakes(300.0) as make:
        yield lambda certificate, frames, **kwargs: make(frames, certificate, **kwargs)


def start_named(start_server, url: str, ca, dns_address: str, extra=(), **options) -> harness.TickwireServer:
    argv = harness.live_feed_argv(url, ca_file=ca.cert, extra=["--dns-servers", dns_address, *extra], **options)
    return start_server(argv=argv)


def open_prices(make_channel, make_collector, server: harness.TickwireServer) -> harness.StreamCollector:
    chan = make_channel(server.target)
    harness.wait_channel_ready(chan)
    collector = harness.open_registered_stream(chan, make_collector, name="client")
    status = next(r.status for r in collector.non_prices() if r.WhichOneof("payload") == "status")
    assert status.code == NOT_FOUND, f"barrier request: want NOT_FOUND, got {status}"
    return collector


def context(server: harness.TickwireServer, fake: FakeBinance | None = None) -> str:
    connections = ""
    if fake is not None:
        connections = "\nfake connections:\n" + ("\n".join(
            f"  {fake_binance.describe_connection(r)}" for r in fake.connections()) or "  none")
    return f"{connections}\nserver log tail:\n{server.log.tail(30)}"


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def largest_gap(times: list[float], start: float, end: float) -> float:
    """The longest stretch of [start, end] without an arrival."""
    inside = [t for t in times if start <= t <= end]
    edges = [start] + inside + [end]
    return max(b - a for a, b in zip(edges, edges[1:]))


def assert_every_trade_once_in_order(client, fake, server) -> None:
    """Stops the fake's clock; per symbol, the client has exactly what was published."""
    fake.pause()
    published = [harness.trade_from_frame(f.text) for f in fake.published_frames()]
    assert harness.wait_until(lambda: len(client.prices()) >= len(published), SETTLE_TIMEOUT_S), (
        f"{len(client.prices())} of {len(published)} prices{context(server, fake)}")
    time.sleep(0.3)  # room for extras, which would be duplicates
    got = [harness.trade_from_update(item.response.price) for item in client.prices()]
    for symbol in {t.symbol for t in published}:
        g = [t for t in got if t.symbol == symbol]
        w = [t for t in published if t.symbol == symbol]
        assert g == w, f"{symbol}: {harness.first_difference(g, w)}"


# --------------------------------------------------------------------------
# A slow lookup while a rotation is due
# --------------------------------------------------------------------------

@pytest.mark.parametrize("io", ["epoll", "io_uring"])
def test_slow_lookup_during_rotation_does_not_stall_the_old_connection(
        pki, fakes, dns_server, start_server, grpc_channels, collectors, recorded_frames, io):
    ca, certificate = pki
    resolver, dns_address = dns_server({FEED_NAME: ["127.0.0.1"]})
    fake = fakes(certificate, recorded_frames, rate=300)
    server = start_named(start_server, fake.url(FEED_NAME), ca, dns_address, extra=["--io", io])
    if server.log.matching("falling back to epoll"):
        pytest.skip(f"io_uring is not available here: {server.log.matching('falling back to epoll')[0]}")
    fake.wait_open(1, CONNECT_TIMEOUT_S)
    server.log.wait_for(FEED_CONNECTED_RE, LOG_TIMEOUT_S)
    assert resolver.queries_for(FEED_NAME), f"tickwire did not ask the test DNS server{context(server, fake)}"
    client = open_prices(grpc_channels, collectors, server)
    fake.resume()
    assert harness.wait_until(lambda: len(client.prices()) >= 200, DELIVERY_TIMEOUT_S), context(server, fake)

    resolver.delay_s = SLOW_ANSWER_S
    since_line = server.log.count()
    announced = time.monotonic()
    fake.send_server_shutdown(1, close_after_s=12.0)
    assert harness.wait_until(lambda: resolver.queries_for(FEED_NAME, announced), 2.0), (
        f"no lookup of {FEED_NAME} after the rotation started{context(server, fake)}")
    asked = resolver.queries_for(FEED_NAME, announced)[0][0]

    threads = []
    while time.monotonic() < asked + SLOW_ANSWER_S - 0.5:  # bounded: the lookup's 3 s
        threads.append(thread_count(server.proc.pid))
        time.sleep(0.25)
    candidate = fake.wait_open(2, CONNECT_TIMEOUT_S)
    answered = resolver.answers_for(FEED_NAME, announced)[0][0]
    assert candidate.accepted_mono >= answered - 0.05, (
        f"connection 2 arrived {answered - candidate.accepted_mono:.2f}s before the DNS answer")
    arrivals = [item.recv_mono for item in client.prices()]
    during = [t for t in arrivals if asked <= t <= answered]
    gap = largest_gap(arrivals, asked, answered)
    print(f"\nlookup held {answered - asked:.2f}s; {len(during)} prices arrived meanwhile; "
          f"largest gap {gap * 1000:.0f} ms; threads seen {sorted(set(threads))}")
    assert answered - asked >= SLOW_ANSWER_S - 0.1, f"the answer was not held: {answered - asked:.2f}s"
    assert gap < MAX_GAP_S, (f"prices stopped for {gap:.2f}s while the lookup was pending "
                             f"({len(during)} arrived in {answered - asked:.2f}s){context(server, fake)}")
    assert len(during) >= 100, f"only {len(during)} prices during the lookup{context(server, fake)}"
    assert set(threads) == {1}, f"tickwire ran {sorted(set(threads))} threads during the lookup"

    # The rotation itself: started by the notice, completed once the answer came.
    _, started = server.log.wait_for(FEED_ROTATION_STARTED_RE, LOG_TIMEOUT_S, since_line)
    assert (metadata_int(started, "connection"), metadata_int(started, "candidate")) == (1, 2), started
    _, complete = server.log.wait_for(FEED_ROTATION_COMPLETE_RE, LOG_TIMEOUT_S, since_line)
    assert (metadata_int(complete, "from"), metadata_int(complete, "to")) == (1, 2), complete

    assert_every_trade_once_in_order(client, fake, server)
    assert not server.log.matching(FEED_GAP_RE), context(server, fake)
    assert not client.finished, client.describe_end()


# --------------------------------------------------------------------------
# Failures in the resolver's own words
# --------------------------------------------------------------------------

def failed_reason(server: harness.TickwireServer, timeout_s: float, since: int = 0) -> tuple[int, str]:
    """(line index, reason) of the first `feed connection failed` at or after `since`."""
    index, line = server.log.wait_for(FEED_CONNECTION_FAILED_RE, timeout_s, since)
    return index, metadata_str(line, "reason")


def assert_grpc_keeps_serving(server, grpc_channels, collectors) -> None:
    client = open_prices(grpc_channels, collectors, server)
    assert not client.finished, client.describe_end()


def test_name_that_does_not_resolve_is_logged_as_such(dns_server, start_server, grpc_channels, collectors,
                                                      pki):
    ca, _ = pki
    resolver, dns_address = dns_server({})
    server = start_named(start_server, f"wss://{MISSING_NAME}:9443/stream", ca, dns_address,
                         reconnect_base="200ms", reconnect_cap="400ms")
    index, reason = failed_reason(server, LOG_TIMEOUT_S)
    assert "does not resolve" in reason and MISSING_NAME in reason, reason
    assert reason.endswith("(c-ares: Domain name not found)"), reason  # c-ares' own words, too
    assert "No route to host" not in reason, reason
    assert_grpc_keeps_serving(server, grpc_channels, collectors)
    # It keeps trying, and each try asks the DNS server again.
    _, again = failed_reason(server, LOG_TIMEOUT_S, index + 1)
    assert "does not resolve" in again, again
    assert len(resolver.queries_for(MISSING_NAME)) >= 2, resolver.queries


def test_dns_server_that_never_answers_is_logged_as_a_timeout(dns_server, start_server, grpc_channels,
                                                              collectors, pki):
    ca, _ = pki
    resolver, dns_address = dns_server({FEED_NAME: ["127.0.0.1"]})
    resolver.delay_s = 60.0  # released at teardown
    server = start_named(start_server, f"wss://{FEED_NAME}:9443/stream", ca, dns_address,
                         reconnect_base="5s", reconnect_cap="5s")
    assert_grpc_keeps_serving(server, grpc_channels, collectors)
    # c-ares: 2 tries, 2 s then 4 s, inside the feed's 10 s handshake timeout.
    _, reason = failed_reason(server, 9.0)
    assert "resolver timed out" in reason, reason


def test_every_resolved_address_is_tried_before_the_attempt_fails(dns_server, start_server, pki):
    ca, _ = pki
    with socket.create_server(("127.0.0.3", 0)) as probe:  # closed again: connects to it are refused
        port = probe.getsockname()[1]
    resolver, dns_address = dns_server({REFUSING_NAME: ["127.0.0.3", "127.0.0.4"]})
    server = start_named(start_server, f"wss://{REFUSING_NAME}:{port}/stream", ca, dns_address,
                         reconnect_base="5s", reconnect_cap="5s")
    _, reason = failed_reason(server, LOG_TIMEOUT_S)
    for host in ("127.0.0.3", "127.0.0.4"):
        assert re.search(rf"{re.escape(host)}: connect: Connection refused", reason), reason
