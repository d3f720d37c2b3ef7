import Indicators
import Testing

@Suite("Edge cases")
struct EdgeCaseTests {
    @Test("flat prices: SMA and EMA equal the price, RSI is 0 by TA-Lib's zero/zero convention")
    func flatPrices() throws {
        let prices = [Double](repeating: 61_662, count: 50)
        for period in [2, 14] {
            #expect(try engineSeries(.sma, period: period, prices: prices).last == 61_662)
            #expect(try engineSeries(.ema, period: period, prices: prices).last == 61_662)
            let rsi = try engineSeries(.rsi, period: period, prices: prices)
            #expect(rsi[period...].allSatisfy { $0 == 0 })
        }
    }

    @Test("RSI is exactly 100 on a rising series and 0 on a falling one", arguments: [2, 14, 50])
    func monotone(period: Int) throws {
        let rising = (0..<200).map { 61_000 + Double($0) * 0.01 }
        let falling = Array(rising.reversed())
        #expect(try engineSeries(.rsi, period: period, prices: rising)[period...].allSatisfy { $0 == 100 })
        #expect(try engineSeries(.rsi, period: period, prices: falling)[period...].allSatisfy { $0 == 0 })
        for kind in [IndicatorKind.sma, .ema] {
            expectSeries(try engineSeries(kind, period: period, prices: rising),
                         matches: TALibReference.series(kind, rising, period: period), "\(kind) rising")
            expectSeries(try engineSeries(kind, period: period, prices: falling),
                         matches: TALibReference.series(kind, falling, period: period), "\(kind) falling")
        }
    }

    /// On a flat run both averages decay by the same factor, so RSI holds its
    /// level; it reads 0 only once both have underflowed to exactly zero. The
    /// indices are TA-Lib 0.8.1's own output for this series
    /// (`talib.RSI(np.array([100, 101, 100.5] + [100.5] * 1200), 2)`).
    @Test("RSI holds its level through a flat run, as TA-Lib 0.8 does")
    func flatRunAfterMovement() throws {
        let prices = [100, 101, 100.5] + [Double](repeating: 100.5, count: 1200)
        let rsi = try engineSeries(.rsi, period: 2, prices: prices, historyCapacity: 8)
        #expect(rsi[2..<1075].allSatisfy { $0 == 66.66666666666666 })
        #expect(rsi[1075] == 100, "the loss average underflows first")
        #expect(rsi[1076...].allSatisfy { $0 == 0 }, "then the gain average: no movement left")
    }

    /// A price nine orders of magnitude above its neighbours wipes the low bits
    /// of a plain running sum, and they do not come back when it leaves the
    /// window. The compensated sum keeps them.
    @Test("an outsized price leaving the SMA window leaves no residue")
    func outlierLeavesNoResidue() throws {
        let prices = [Double](repeating: 0.1, count: 50) + [1e15] + [Double](repeating: 0.1, count: 100)
        expectSeries(try engineSeries(.sma, period: 50, prices: prices, historyCapacity: 64),
                     matches: TALibReference.sma(prices, period: 50), "SMA across an outlier")
        #expect(try engineSeries(.sma, period: 50, prices: prices, historyCapacity: 64).last == 0.1)
    }

    /// Two symbols' trades interleaved as on the combined stream: each symbol's
    /// states see only that symbol's prices.
    @Test("interleaved symbols keep separate series", arguments: originalKinds)
    func interleavedSymbols(kind: IndicatorKind) throws {
        let btc = randomWalkPrices(count: 400, seed: 41, start: 61_000)
        let eth = randomWalkPrices(count: 400, seed: 42, start: 2_600)
        var engine = IndicatorEngine(symbolCount: 2, historyCapacity: 64, maxPeriod: 64, maxIndicators: 4)
        let handles = [try engine.subscribe(symbol: 0, kind: kind, period: 20).get(),
                       try engine.subscribe(symbol: 1, kind: kind, period: 20).get()]
        let expected = [TALibReference.series(kind, btc, period: 20), TALibReference.series(kind, eth, period: 20)]
        for index in 0..<400 {
            engine.ingest(symbol: 0, price: btc[index], tradeId: Int64(index), tradeTimeMs: 0)
            engine.ingest(symbol: 1, price: eth[index], tradeId: Int64(index), tradeTimeMs: 0)
            for symbol in 0..<2 where expected[symbol][index] != nil {
                expectValue(engine.value(of: handles[symbol]), closeTo: expected[symbol][index],
                            "symbol \(symbol) after trade \(index)")
            }
        }
    }
}
