import Indicators
import Testing

/// A new state warms from the symbol's price history the moment it is created;
/// a subscriber to an existing state joins its running series.
@Suite("Subscribing after trades have flowed")
struct LateSubscriptionTests {
    static let capacity = 100
    static let prices = randomWalkPrices(count: 600, seed: 21)

    /// An engine that has seen the first `trades` prices, with no subscribers.
    static func engine(after trades: Int, capacity: Int = capacity) -> IndicatorEngine {
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: capacity, maxPeriod: capacity,
                                     maxIndicators: 8)
        feed(&engine, prices[..<trades], from: 0)
        return engine
    }

    static func feed(_ engine: inout IndicatorEngine, _ slice: ArraySlice<Double>, from first: Int) {
        for (offset, price) in slice.enumerated() {
            engine.ingest(symbol: 0, price: price, tradeId: Int64(first + offset), tradeTimeMs: 0)
        }
    }

    /// After 300 trades the ring of 100 has wrapped twice. SMA(100) needs exactly
    /// the ring's contents and is right from the first moment.
    @Test("SMA is ready at once, equal to the mean of the history")
    func smaReadyAtOnce() throws {
        var engine = Self.engine(after: 300)
        let handle = try engine.subscribe(symbol: 0, kind: .sma, period: 100).get()
        let expected = TALibReference.sma(Self.prices, period: 100)
        expectValue(engine.value(of: handle), closeTo: expected[299])

        for index in 300..<Self.prices.count {
            engine.ingest(symbol: 0, price: Self.prices[index], tradeId: Int64(index), tradeTimeMs: 0)
            expectValue(engine.value(of: handle), closeTo: expected[index])
        }
    }

    /// EMA and RSI depend on every price seen, so a new state replays the ring
    /// from its oldest price: its series is TA-Lib's over prices[200...].
    @Test("EMA and RSI replay the history from its oldest price", arguments: [IndicatorKind.ema, .rsi])
    func replayFromOldest(kind: IndicatorKind) throws {
        var engine = Self.engine(after: 300)
        let handle = try engine.subscribe(symbol: 0, kind: kind, period: 50).get()
        let expected = TALibReference.series(kind, Array(Self.prices[200...]), period: 50)
        expectValue(engine.value(of: handle), closeTo: expected[99])

        for index in 300..<Self.prices.count {
            engine.ingest(symbol: 0, price: Self.prices[index], tradeId: Int64(index), tradeTimeMs: 0)
            expectValue(engine.value(of: handle), closeTo: expected[index - 200])
        }
    }

    @Test("a late subscriber joins the running series, not a fresh replay")
    func lateSubscriberJoins() throws {
        var engine = Self.engine(after: 0)
        let first = try engine.subscribe(symbol: 0, kind: .ema, period: 50).get()
        Self.feed(&engine, Self.prices[..<300], from: 0)

        let second = try engine.subscribe(symbol: 0, kind: .ema, period: 50).get()
        #expect(second == first)
        let subscribers = engine.subscriberCount(of: second)
        #expect(subscribers == 2)

        let sinceStartup = try #require(TALibReference.ema(Self.prices, period: 50)[299])
        let replayed = try #require(TALibReference.ema(Array(Self.prices[200..<300]), period: 50)[99])
        #expect(!isClose(replayed, sinceStartup), "the two series must differ for this test to mean anything")
        expectValue(engine.value(of: second), closeTo: sinceStartup)
    }

    /// With period equal to the capacity, the ring holds period prices but RSI
    /// needs period + 1: the replay leaves it one change short.
    @Test("RSI with period = capacity warms on the first live trade")
    func rsiAtCapacity() throws {
        var engine = Self.engine(after: 100, capacity: 32)
        let handle = try engine.subscribe(symbol: 0, kind: .rsi, period: 32).get()
        let afterReplay = engine.value(of: handle)
        #expect(afterReplay == nil, "32 prices hold only 31 changes")

        engine.ingest(symbol: 0, price: Self.prices[100], tradeId: 100, tradeTimeMs: 0)
        let expected = TALibReference.rsi(Array(Self.prices[68...100]), period: 32)
        expectValue(engine.value(of: handle), closeTo: expected[32])
    }

    @Test("a state warmed from history carries the newest trade's stamp")
    func warmedStamp() throws {
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 16, maxPeriod: 16, maxIndicators: 4)
        for index in 0..<20 {
            engine.ingest(symbol: 0, price: 100 + Double(index), tradeId: 5_000 + Int64(index),
                          tradeTimeMs: 1_723_161_255_000 + Int64(index))
        }
        let versionBefore = engine.version
        let handle = try engine.subscribe(symbol: 0, kind: .sma, period: 4).get()
        let latest = engine.value(of: handle)
        let value = try #require(latest)
        #expect(value.value == 117.5)
        #expect(value.tradeId == 5_019)
        #expect(value.tradeTimeMs == 1_723_161_255_019)
        #expect(value.version > versionBefore, "a batcher must see a newly warmed state as changed")
    }
}
