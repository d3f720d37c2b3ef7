import Indicators
import Testing

/// What a batcher relies on: every value carries its trade and the engine
/// version that produced it, so "changed since my last batch" is one compare.
@Suite("Trade stamps and versions")
struct ChangeTrackingTests {
    @Test("a trade stamps its own symbol's states, and only those")
    func stampsOnlyTheTradedSymbol() throws {
        var engine = IndicatorEngine(symbolCount: 2, historyCapacity: 8, maxPeriod: 8, maxIndicators: 4)
        let btc = try engine.subscribe(symbol: 0, kind: .sma, period: 2).get()
        let eth = try engine.subscribe(symbol: 1, kind: .sma, period: 2).get()
        for index in 0..<2 {
            engine.ingest(symbol: 0, price: 61_000, tradeId: Int64(index), tradeTimeMs: 10)
            engine.ingest(symbol: 1, price: 2_600, tradeId: Int64(index), tradeTimeMs: 10)
        }
        let lastBatch = engine.version

        engine.ingest(symbol: 0, price: 61_002, tradeId: 3_735_689_700, tradeTimeMs: 1_723_161_300_123)
        let btcLatest = engine.value(of: btc)
        let ethLatest = engine.value(of: eth)
        let btcValue = try #require(btcLatest)
        let ethValue = try #require(ethLatest)
        #expect(btcValue == IndicatorValue(value: 61_001, tradeId: 3_735_689_700,
                                           tradeTimeMs: 1_723_161_300_123, version: engine.version))
        #expect(btcValue.version > lastBatch)
        #expect(ethValue.version <= lastBatch, "an untraded symbol's state has not changed")
        #expect(ethValue.tradeId == 1)
    }

    @Test("the version grows with every trade")
    func versionIsMonotonic() {
        var engine = IndicatorEngine(symbolCount: 3, historyCapacity: 8, maxPeriod: 8, maxIndicators: 4)
        var previous = engine.version
        for index in 0..<100 {
            engine.ingest(symbol: index % 3, price: 1, tradeId: Int64(index), tradeTimeMs: 0)
            let version = engine.version
            #expect(version > previous)
            previous = version
        }
    }

    @Test("a warming state has no value and no stamp yet")
    func warmingHasNoValue() throws {
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 8, maxPeriod: 8, maxIndicators: 4)
        let handle = try engine.subscribe(symbol: 0, kind: .rsi, period: 3).get()
        for index in 0..<3 {
            engine.ingest(symbol: 0, price: Double(index), tradeId: Int64(index), tradeTimeMs: 0)
            let warming = engine.value(of: handle)
            #expect(warming == nil)
        }
        engine.ingest(symbol: 0, price: 3, tradeId: 3, tradeTimeMs: 0)
        let warm = engine.value(of: handle)
        #expect(warm?.version == engine.version)
    }
}
