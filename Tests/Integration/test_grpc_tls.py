"""TLS and mutual TLS on the gRPC listener (--tls-cert, --tls-key, --tls-client-ca).

The certificates come from the openssl CLI (fake_binance.make_ca and
issue_server_cert). Each test runs the core replay check over TLS: every
trade of the fixture reaches a grpcio client over a verified TLS channel,
exact and in order. Refusals (wrong CA, no client certificate, plaintext on
a TLS port) must leave the server serving the other clients.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

import fake_binance
import harness
from test_replay_fanout import assert_stream_got_exactly, collect_full_replay

HANDSHAKE_FAILED_RE = "TLS handshake failed"
REFUSAL_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("grpc-tls")
    ca = fake_binance.make_ca(directory, "ca", "Tickwire gRPC Test CA")
    other = fake_binance.make_ca(directory, "other-ca", "Unrelated Test CA")
    return {
        "ca": ca,
        "other_ca": other,
        "server": fake_binance.issue_server_cert(ca, directory, "grpc-server"),
        "client": fake_binance.issue_server_cert(ca, directory, "grpc-client", sans=("DNS:tickwire-client",),
                                                 usage="clientAuth"),
        "client_other_ca": fake_binance.issue_server_cert(other, directory, "grpc-client-other",
                                                          sans=("DNS:tickwire-client",), usage="clientAuth"),
    }


def tls_args(pki, mutual: bool = False) -> list[str]:
    args = ["--tls-cert", str(pki["server"].cert), "--tls-key", str(pki["server"].key)]
    if mutual:
        args += ["--tls-client-ca", str(pki["ca"].cert)]
    return args


def secure_channel(target: str, root: Path, client=None):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=root.read_bytes(),
        private_key=client.key.read_bytes() if client else None,
        certificate_chain=client.cert.read_bytes() if client else None)
    return grpc.secure_channel(target, credentials, options=harness.CHANNEL_OPTIONS)


def assert_refused(chan, what: str) -> None:
    """The channel never becomes ready and a call fails UNAVAILABLE."""
    with pytest.raises(grpc.FutureTimeoutError):
        grpc.channel_ready_future(chan).result(timeout=3.0)
    pb, pb_grpc = harness.stubs()
    with pytest.raises(grpc.RpcError) as error:
        next(iter(pb_grpc.PriceStreamStub(chan).StreamPrices(iter(()), timeout=REFUSAL_TIMEOUT_S)))
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE, f"{what}: {error.value}"


def test_tls_client_receives_every_trade(start_server, collectors, expected_trades, pki):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=2, extra=tls_args(pki))
    channels = []

    def make_channel(target):
        channels.append(secure_channel(target, pki["ca"].cert))
        return channels[-1]

    streams = collect_full_replay(server, make_channel, collectors, [1, 1])
    for collector in streams:
        assert_stream_got_exactly(collector, expected_trades, server)
    line = server.log.matching("listening")[0]
    assert "tls=on" in line, line
    for chan in channels:
        chan.close()


def test_mutual_tls_serves_certified_clients_and_refuses_others(start_server, collectors, expected_trades, pki):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1,
                          extra=tls_args(pki, mutual=True))
    # Refused first, while the replay waits: neither may count as a stream.
    anonymous = secure_channel(server.target, pki["ca"].cert)
    assert_refused(anonymous, "client without a certificate")
    foreign = secure_channel(server.target, pki["ca"].cert, client=pki["client_other_ca"])
    assert_refused(foreign, "client certificate from another CA")
    server.log.wait_for(HANDSHAKE_FAILED_RE, REFUSAL_TIMEOUT_S)

    certified = secure_channel(server.target, pki["ca"].cert, client=pki["client"])
    streams = collect_full_replay(server, lambda target: certified, collectors, [1])
    assert_stream_got_exactly(streams[0], expected_trades, server)
    assert "mtls=on" in server.log.matching("listening")[0]
    for chan in (anonymous, foreign, certified):
        chan.close()


def test_client_with_wrong_ca_is_refused_and_others_unaffected(start_server, collectors, expected_trades, pki):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1, extra=tls_args(pki))
    wrong = secure_channel(server.target, pki["other_ca"].cert)
    assert_refused(wrong, "client trusting another CA")
    plaintext = harness.channel(server.target)
    with pytest.raises(grpc.FutureTimeoutError):
        grpc.channel_ready_future(plaintext).result(timeout=3.0)
    good = secure_channel(server.target, pki["ca"].cert)
    streams = collect_full_replay(server, lambda target: good, collectors, [1])
    assert_stream_got_exactly(streams[0], expected_trades, server)
    assert server.alive()
    for chan in (wrong, plaintext, good):
        chan.close()


def test_health_over_tls(start_server, pki):
    server = start_server(replay=None, extra=tls_args(pki))
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    chan = secure_channel(server.target, pki["ca"].cert)
    reply = health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    chan.close()


@pytest.mark.parametrize("args, message", [
    (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], "cannot be read"),
    (["--tls-client-ca", "/tmp/ca.pem"], "--tls-client-ca needs --tls-cert and --tls-key"),
])
def test_bad_tls_flags_are_refused_at_startup(args, message):
    import subprocess
    result = subprocess.run(harness.server_argv(replay=harness.TRADES_FIXTURE) + args,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_mismatched_key_is_refused_at_startup(pki):
    import subprocess
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE) + [
        "--tls-cert", str(pki["server"].cert), "--tls-key", str(pki["client"].key)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "does not match" in result.stderr, result.stderr
