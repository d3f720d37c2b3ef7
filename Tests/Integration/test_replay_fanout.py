"""Replay → fan-out: every stream gets every trade, in file order, with exact fields."""

from __future__ import annotations

import gzip
import json
import shutil
import time

import harness
from harness import FIXTURE_TRADE_COUNT, REPLAY_FINISHED_RE, metadata_int

# How long a max-speed replay of the fixture may take to reach every stream.
FANOUT_TIMEOUT_S = 60.0
# After the last expected message, how long to keep listening for extras.
EXTRA_MESSAGE_GRACE_S = 0.5


def assert_stream_got_exactly(collector: harness.StreamCollector, expected: list[harness.Trade],
                              server: harness.TickwireServer) -> None:
    others = collector.non_prices()
    assert not others, f"{collector.name}: unexpected non-price responses: {others[:3]}"
    prices = collector.prices()
    got = [harness.trade_from_update(item.response.price) for item in prices]
    assert got == expected, f"{collector.name}: {harness.first_difference(got, expected)}"
    ids = [(t.symbol, t.trade_id) for t in got]
    assert len(set(ids)) == len(ids), f"{collector.name}: duplicate trade ids"
    earliest_ns = server.started_wall_ns - 1_000_000_000
    for index, item in enumerate(prices):
        ingest = item.response.price.ingest_unix_nanos
        # Read by the server after it started and before the client received it
        # (1 s of slack for clock granularity); both are the same host clock.
        assert earliest_ns <= ingest <= item.recv_wall_ns + 1_000_000_000, (
            f"{collector.name}: message {index} ingest_unix_nanos={ingest} is not between "
            f"server start {server.started_wall_ns} and receipt {item.recv_wall_ns}")


def collect_full_replay(server, make_channel, make_collector, streams_per_channel: list[int],
                        expected_count: int = FIXTURE_TRADE_COUNT) -> list[harness.StreamCollector]:
    collectors = []
    for channel_index, n_streams in enumerate(streams_per_channel):
        chan = make_channel(server.target)
        for stream_index in range(n_streams):
            name = f"ch{channel_index}-s{stream_index}"
            collectors.append(make_collector(chan, name=name, deadline_s=FANOUT_TIMEOUT_S + 30).start())
    deadline = time.monotonic() + FANOUT_TIMEOUT_S
    for collector in collectors:
        reached = collector.wait_count(expected_count, max(0.0, deadline - time.monotonic()))
        assert reached, (f"{collector.name}: received {collector.count()} of {expected_count} "
                         f"within {FANOUT_TIMEOUT_S}s; {collector.describe_end()}; counts of all "
                         f"streams: {[c.count() for c in collectors]}\nserver log tail:\n"
                         f"{server.log.tail()}")
    return collectors


def replay_summary(server, timeout_s: float = 15.0) -> dict[str, int]:
    _, line = server.log.wait_for(REPLAY_FINISHED_RE, timeout_s)
    return {key: metadata_int(line, key) for key in ("published", "malformed", "ignored")}


def test_five_streams_receive_every_trade_in_file_order(start_server, grpc_channels, collectors,
                                                          expected_trades):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=5)
    streams = collect_full_replay(server, grpc_channels, collectors, [1, 1, 1, 1, 1])
    summary = replay_summary(server)
    time.sleep(EXTRA_MESSAGE_GRACE_S)
    for collector in streams:
        assert not collector.finished, f"{collector.name}: {collector.describe_end()}"
        assert_stream_got_exactly(collector, expected_trades, server)
    assert summary == {"published": FIXTURE_TRADE_COUNT, "malformed": 0, "ignored": 0}, summary


def test_streams_multiplexed_on_one_connection_each_get_everything(start_server, grpc_channels,
                                                                   collectors, expected_trades):
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=4)
    streams = collect_full_replay(server, grpc_channels, collectors, [3, 1])
    replay_summary(server)
    time.sleep(EXTRA_MESSAGE_GRACE_S)
    for collector in streams:
        assert_stream_got_exactly(collector, expected_trades, server)


def test_raw_recording_publishes_only_trade_frames(start_server, grpc_channels, collectors,
                                                   expected_trades, tmp_path):
    raw = tmp_path / "raw.jsonl"
    with gzip.open(harness.RAW_FIXTURE_GZ, "rb") as src, raw.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    lines = raw.read_text().splitlines()
    raw_trades = harness.trades_in(lines)
    assert raw_trades == expected_trades, "raw fixture's trade frames differ from the trades fixture"
    non_trade_frames = len(lines) - len(raw_trades)

    server = start_server(replay=raw, speed="max", wait_streams=2)
    streams = collect_full_replay(server, grpc_channels, collectors, [1, 1])
    summary = replay_summary(server)
    time.sleep(EXTRA_MESSAGE_GRACE_S)
    for collector in streams:
        assert_stream_got_exactly(collector, raw_trades, server)
    assert summary["published"] == FIXTURE_TRADE_COUNT, summary
    assert summary["malformed"] == 0, summary
    assert summary["ignored"] > 0, summary
    # Every bookTicker and depthUpdate frame in the recording is well formed.
    assert summary["ignored"] == non_trade_frames, (summary, non_trade_frames)


def garbage_lines(template: str) -> list[str]:
    """Lines a replay must skip and count as malformed, each for a different reason."""
    frame = json.loads(template)

    def with_data(**changes) -> str:
        data = dict(frame["data"], **changes)
        return json.dumps({"stream": frame["stream"], "data": data}, separators=(",", ":"))

    missing = {k: v for k, v in frame["data"].items() if k not in ("t", "p", "q", "T")}
    return [
        "this is not json at all",
        template[: len(template) // 2],                       # truncated JSON
        "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\"",  # truncated inside the object
        json.dumps({"stream": frame["stream"], "data": missing}, separators=(",", ":")),  # missing fields
        with_data(t="not-a-number"),                           # trade id is a string
        with_data(t=7, p={"value": "1.0"}),                    # price is an object
        with_data(t=8, s=12345),                               # symbol is a number
        with_data(t=9, T="soon"),                              # trade time is a string
        with_data(t=10, p="abc"),                              # price is not a decimal
        json.dumps({"stream": frame["stream"], "data": "trade"}),  # data is not an object
    ]


def test_malformed_lines_are_skipped_and_counted(start_server, grpc_channels, collectors,
                                                 expected_trades, tmp_path):
    lines = harness.TRADES_FIXTURE.read_text().splitlines()
    garbage = garbage_lines(lines[0])
    positions = [0, 1, 2, 5000, 5000, 9999, 12000, 15000, len(lines), len(lines)]
    assert len(positions) == len(garbage)
    mixed = list(lines)
    # Insert from the back so that earlier positions stay valid.
    for position, bad in sorted(zip(positions, garbage), key=lambda pair: -pair[0]):
        mixed.insert(position, bad)
    replay = tmp_path / "with-garbage.jsonl"
    replay.write_text("\n".join(mixed) + "\n")

    server = start_server(replay=replay, speed="max", wait_streams=1)
    streams = collect_full_replay(server, grpc_channels, collectors, [1])
    summary = replay_summary(server)
    time.sleep(EXTRA_MESSAGE_GRACE_S)
    assert_stream_got_exactly(streams[0], expected_trades, server)
    assert summary == {"published": FIXTURE_TRADE_COUNT, "malformed": len(garbage), "ignored": 0}, (
        f"replay finished with {summary}; inserted {len(garbage)} malformed lines: {garbage}")


def test_every_flag_reads_its_environment_variable(start_server, grpc_channels, collectors,
                                                   expected_trades, binary):
    env = {
        "TICKWIRE_LISTEN": "127.0.0.1:0",
        "TICKWIRE_METRICS_LISTEN": harness.DEFAULT_METRICS_LISTEN,
        "TICKWIRE_SYMBOLS": harness.SYMBOLS,
        "TICKWIRE_REPLAY": str(harness.TRADES_FIXTURE),
        "TICKWIRE_REPLAY_SPEED": "max",
        "TICKWIRE_REPLAY_WAIT_STREAMS": "1",
        "TICKWIRE_LOG_LEVEL": harness.DEFAULT_LOG_LEVEL,
    }
    server = start_server(argv=[str(binary)], env=env)
    streams = collect_full_replay(server, grpc_channels, collectors, [1])
    replay_summary(server)
    assert_stream_got_exactly(streams[0], expected_trades, server)


def test_late_joiner_gets_a_gapless_slice(start_server, grpc_channels, collectors, expected_trades):
    """A stream opened mid-replay starts at some trade and then misses none."""
    server = start_server(replay=harness.TRADES_FIXTURE, speed="20", wait_streams=1)
    first = collectors(grpc_channels(server.target), name="first", deadline_s=60).start()
    assert first.wait_count(500, 20.0), first.describe_end()
    late = collectors(grpc_channels(server.target), name="late", deadline_s=60).start()
    assert late.wait_count(500, 20.0), late.describe_end()
    first_got = [harness.trade_from_update(i.response.price) for i in first.prices()]
    late_got = [harness.trade_from_update(i.response.price) for i in late.prices()]
    assert first_got == expected_trades[:len(first_got)], harness.first_difference(first_got, expected_trades)
    start = expected_trades.index(late_got[0])
    assert start > 0, "the late stream started at the first trade: it joined before the replay began?"
    want = expected_trades[start:start + len(late_got)]
    assert late_got == want, f"late joiner from index {start}: {harness.first_difference(late_got, want)}"


def test_symbols_flag_filters_and_accepts_any_case(start_server, grpc_channels, collectors,
                                                   expected_trades):
    btc = [t for t in expected_trades if t.symbol == "BTCUSDT"]
    server = start_server(replay=harness.TRADES_FIXTURE, speed="max", wait_streams=1, symbols="BTCUSDT")
    stream = collectors(grpc_channels(server.target), name="btc-only", deadline_s=90).start()
    assert stream.wait_count(len(btc), FANOUT_TIMEOUT_S), (
        f"got {stream.count()} of {len(btc)} BTCUSDT trades; {stream.describe_end()}")
    summary = replay_summary(server)
    time.sleep(EXTRA_MESSAGE_GRACE_S)
    assert_stream_got_exactly(stream, btc, server)
    assert summary["published"] == len(btc), summary
    assert summary["malformed"] == 0, summary
