import BinanceFeed
import Engine
import Testing
@testable import Application
import MarketData

/// Counters that follow plain totals, and feed events turned into reconnect
/// reasons, checked on the rendered exposition.
@Suite struct MetricsCollectorTests {
    let symbols = try! SymbolTable(["btcusdt", "ethusdt"])

    func render(_ collector: MetricsCollector) -> String {
        var bytes = [UInt8]()
        collector.render(MetricsSnapshot(), into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func countersGrowByTheDeltaOfTheirTotals() {
        let collector = MetricsCollector(symbols: symbols)
        var snapshot = MetricsSnapshot()
        snapshot.priceMessages = 10
        collector.update(snapshot)
        snapshot.priceMessages = 25
        collector.update(snapshot)
        collector.update(snapshot)  // no change: no growth
        #expect(render(collector).contains("tickwire_price_messages_fanned_out_total 25\n"))
    }

    @Test func aStaleConnectionIsCountedOnceAsStale() {
        var counts = FeedEventCounts(symbols: symbols)
        counts.record(.stale(connection: 1, silentMs: 15_000))
        counts.record(.connectionLost(connection: 1, reason: "stale", retryInMs: 500))
        counts.record(.connectionLost(connection: 2, reason: "reset", retryInMs: 500))
        counts.record(.connectionFailed(connection: 3, reason: "refused", retryInMs: 900, failures: 1))
        counts.record(.rotationStarted(reason: .maxAge, connection: 4, candidate: 5))
        counts.record(.gap(symbol: "ETHUSDT", missingTrades: 7, lastID: 1, nextID: 9))
        #expect(counts.reconnects == [.stale: 1, .lost: 1, .failed: 1, .rotation: 1])
        #expect(counts.missingTrades == [0, 7])
    }

    @Test func sequencingEventsBecomePerSymbolSeries() {
        var counts = FeedEventCounts(symbols: symbols)
        counts.record(.suspectTradeID(symbol: "ETHUSDT", tradeID: 1_000_000_001_001, lastID: 1_000))
        counts.record(.outlierDropped(symbol: "ETHUSDT", tradeID: 1_000_000_001_001, lastID: 1_000))
        counts.record(.sequenceReset(symbol: "BTCUSDT", previousID: 5, nextID: 900_000))
        counts.record(.symbolCutOff(symbol: "BTCUSDT", droppedTrades: 40, forMs: 5_100))
        let collector = MetricsCollector(symbols: symbols)
        var snapshot = MetricsSnapshot()
        snapshot.feedSuspectIDs = counts.suspectIDs
        snapshot.feedOutliersDropped = counts.outliersDropped
        snapshot.feedSequenceResets = counts.sequenceResets
        snapshot.feedSymbolCutOff = counts.cutOff
        snapshot.feedLateTrades = 3
        collector.update(snapshot)
        let text = render(collector)
        #expect(text.contains(#"tickwire_feed_suspect_trade_ids_total{symbol="ethusdt"} 1"#))
        #expect(text.contains(#"tickwire_feed_outliers_dropped_total{symbol="ethusdt"} 1"#))
        #expect(text.contains(#"tickwire_feed_sequence_resets_total{symbol="btcusdt"} 1"#))
        #expect(text.contains(#"tickwire_feed_symbol_cut_off{symbol="btcusdt"} 1"#))
        #expect(text.contains(#"tickwire_feed_symbol_cut_off{symbol="ethusdt"} 0"#))
        #expect(text.contains("tickwire_feed_late_trades_total 3\n"))
        counts.record(.symbolRestored(symbol: "BTCUSDT", forMs: 6_000))
        #expect(counts.cutOff == [false, false])
    }

    @Test func everyLabelledSeriesExistsFromTheStart() {
        let text = render(MetricsCollector(symbols: symbols))
        #expect(text.contains(#"tickwire_feed_missing_trades_total{symbol="ethusdt"} 0"#))
        #expect(text.contains(#"tickwire_feed_reconnects_total{reason="stale"} 0"#))
        #expect(text.contains("# TYPE tickwire_ingest_to_flush_latency_seconds histogram"))
    }

    @Test func rpcsAreCountedByGoGRPCPrometheusNamesAndCodes() {
        let collector = MetricsCollector(symbols: symbols)
        var snapshot = MetricsSnapshot()
        snapshot.rpcs.started(.streamPrices)
        snapshot.rpcs.handled(.streamPrices, nil)  // no trailers: cancelled
        snapshot.rpcs.started(.healthCheck)
        snapshot.rpcs.handled(.healthCheck, .ok)
        collector.update(snapshot)
        let text = render(collector)
        #expect(text.contains(#"grpc_server_started_total{grpc_type="bidi_stream",grpc_service="tickwire.v1.PriceStream",grpc_method="StreamPrices"} 1"#))
        #expect(text.contains(#"grpc_server_handled_total{grpc_type="bidi_stream",grpc_service="tickwire.v1.PriceStream",grpc_method="StreamPrices",grpc_code="Canceled"} 1"#))
        #expect(text.contains(#"grpc_server_handled_total{grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_code="OK"} 1"#))
        #expect(text.contains(#"grpc_code="Unauthenticated"} 0"#))
    }

    @Test func feedLagRendersAsACumulativeHistogram() {
        let collector = MetricsCollector(symbols: symbols)
        var snapshot = MetricsSnapshot()
        snapshot.feedLag = FeedLag(symbolCount: 2)
        for ingestMs: Int64 in [1_000, 1_003, 1_500, 900_000] {
            snapshot.feedLag.observe(Trade(symbolIndex: 1, tradeID: 1, price: 1, quantity: 1, tradeTimeMs: 1_000,
                                           eventTimeMs: 1_000, ingestUnixNanos: ingestMs * 1_000_000))
        }
        collector.update(snapshot)
        var bytes = [UInt8]()
        collector.render(snapshot, into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("# TYPE tickwire_feed_lag_seconds histogram\n"))
        #expect(text.contains(#"tickwire_feed_lag_seconds_bucket{time="event",le="0.001"} 1"#))
        #expect(text.contains(#"tickwire_feed_lag_seconds_bucket{time="event",le="0.005"} 2"#))
        #expect(text.contains(#"tickwire_feed_lag_seconds_bucket{time="event",le="0.5"} 3"#))
        #expect(text.contains(#"tickwire_feed_lag_seconds_bucket{time="trade",le="300.0"} 3"#))
        #expect(text.contains(#"tickwire_feed_lag_seconds_bucket{time="trade",le="+Inf"} 4"#))
        #expect(text.contains(#"tickwire_feed_lag_seconds_count{time="event"} 4"#))
        #expect(text.contains(#"tickwire_feed_last_trade_time_seconds{symbol="ethusdt"} 1.0"#))
        #expect(text.contains(#"tickwire_feed_last_trade_time_seconds{symbol="btcusdt"} 0.0"#))
    }
}
