import Indicators
import Testing

@Suite("Warm-up boundaries")
struct WarmUpTests {
    /// Period 64 equals the history capacity: the longest period allowed.
    @Test("no value before warm, TA-Lib's first value exactly at warm",
          arguments: originalKinds, [2, 3, 14, 64])
    func boundary(kind: IndicatorKind, period: Int) throws {
        let prices = randomWalkPrices(count: period + 10, seed: 11)
        let series = try engineSeries(kind, period: period, prices: prices, historyCapacity: 64)
        let warm = kind.warmUpPriceCount(period: period)
        #expect(series[..<(warm - 1)].allSatisfy { $0 == nil })
        let first = try #require(series[warm - 1])
        let expected = try #require(TALibReference.series(kind, prices, period: period)[warm - 1])
        #expect(isClose(first, expected))
    }

    @Test("warm-up counts: n prices for SMA and EMA, n + 1 for RSI")
    func warmUpCounts() {
        #expect(IndicatorKind.sma.warmUpPriceCount(period: 14) == 14)
        #expect(IndicatorKind.ema.warmUpPriceCount(period: 14) == 14)
        #expect(IndicatorKind.rsi.warmUpPriceCount(period: 14) == 15)
    }

    /// A state created when the history is shorter than its warm-up counts the
    /// prices already held and needs only the rest from live trades.
    @Test("a state created on a short history finishes warming on live trades",
          arguments: originalKinds)
    func shortHistory(kind: IndicatorKind) throws {
        let period = 10
        let prices = randomWalkPrices(count: 40, seed: 12)
        let warm = kind.warmUpPriceCount(period: period)
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 100, maxPeriod: 100, maxIndicators: 4)
        for (index, price) in prices[..<5].enumerated() {
            engine.ingest(symbol: 0, price: price, tradeId: Int64(index), tradeTimeMs: 0)
        }
        let handle = try engine.subscribe(symbol: 0, kind: kind, period: period).get()
        let replayed = engine.value(of: handle)
        #expect(replayed == nil)

        let expected = TALibReference.series(kind, prices, period: period)
        for index in 5..<prices.count {
            engine.ingest(symbol: 0, price: prices[index], tradeId: Int64(index), tradeTimeMs: 0)
            let value = engine.value(of: handle)?.value
            #expect((value == nil) == (index < warm - 1), "after price \(index)")
            if let value, let want = expected[index] {
                #expect(isClose(value, want), "after price \(index)")
            }
        }
    }
}
