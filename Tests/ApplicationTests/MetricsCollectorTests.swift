import BinanceFeed
import Testing
@testable import Application
import MarketData

/// Counters that follow plain totals, and feed events turned into reconnect
/// reasons, checked on the rendered exposition.
@Suite struct MetricsCollectorTests {
    let symbols = try! SymbolTable(["btcusdt", "ethusdt"])

    func render(_ collector: MetricsCollector) -> String {
        var bytes = [UInt8]()
        collector.render(into: &bytes)
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

    @Test func everyLabelledSeriesExistsFromTheStart() {
        let text = render(MetricsCollector(symbols: symbols))
        #expect(text.contains(#"tickwire_feed_missing_trades_total{symbol="ethusdt"} 0"#))
        #expect(text.contains(#"tickwire_feed_reconnects_total{reason="stale"} 0"#))
        #expect(text.contains("# TYPE tickwire_ingest_to_flush_latency_seconds histogram"))
    }
}
