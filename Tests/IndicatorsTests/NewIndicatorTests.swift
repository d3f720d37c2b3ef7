import Indicators
import Testing

/// MACD, Bollinger Bands, ATR, Stochastic and VWAP against the naive
/// references, at every update, per trade and on candle-like bars.
@Suite("MACD, Bollinger Bands, ATR, Stochastic, VWAP")
struct NewIndicatorTests {
    static let trades = tradeBars(realBTCUSDTPrices)
    static let bars = randomBars(count: 600, seed: 19)

    @Test("MACD on real trades and on bars", arguments: [(12, 26, 9), (2, 3, 1), (5, 35, 5)])
    func macd(periods: (Int, Int, Int)) throws {
        let (fast, slow, signal) = periods
        for (what, bars) in [("trades", Self.trades), ("bars", Self.bars)] {
            let actual = try engineOutputs(.macd, parameters: .macd(fast: fast, slow: slow, signal: signal), bars: bars)
            expectOutputs(actual, match: TALibReference.macd(bars.map(\.close), fast: fast, slow: slow, signal: signal),
                          "MACD\(periods) on \(what)")
            #expect(actual.firstIndex { $0 != nil } == slow + signal - 2)
        }
    }

    @Test("MACD's fast EMA seeds on the window ending at the slow seed's bar, not on the first prices")
    func macdSeedsBothAverageOnOneBar() throws {
        // A jump in the first prices moves a fast EMA seeded on prices 0..<fast;
        // TA-Lib's fast EMA never sees them.
        let prices = [1000.0, 1000, 1000] + [Double](repeating: 10, count: 40)
        let actual = try engineOutputs(.macd, parameters: .macd(fast: 3, slow: 6, signal: 2), bars: tradeBars(prices))
        let first = try #require(actual[6])
        let expected = try #require(TALibReference.macd(prices, fast: 3, slow: 6, signal: 2)[6])
        #expect(isClose(first.first, expected.first))
        #expect(first.first < 0, "the fast EMA is flat at 10 from its seed, the slow one still holds the jump")
    }

    @Test("Bollinger Bands on real trades and on bars", arguments: [(20, 2.0, 2.0), (2, 1.0, 3.0), (200, 2.5, 1.5)])
    func bollinger(parameters: (Int, Double, Double)) throws {
        let (period, up, down) = parameters
        for (what, bars) in [("trades", Self.trades), ("bars", Self.bars)] {
            let actual = try engineOutputs(.bollinger, period: period,
                                           parameters: .bollinger(deviationsUp: up, deviationsDown: down), bars: bars)
            expectOutputs(actual, match: TALibReference.bollinger(bars.map(\.close), period: period, up: up, down: down),
                          "BBANDS\(parameters) on \(what)")
        }
    }

    @Test("Bollinger Bands give no value while a price beyond 10,000,000 is in the window, then resume")
    func bollingerOutOfRange() throws {
        var prices = Array(realBTCUSDTPrices.prefix(60))
        prices[30] = 25_000_000  // BTC in a fiat currency with a large unit
        let actual = try engineOutputs(.bollinger, period: 5, parameters: .bollingerDefault, bars: tradeBars(prices))
        let expected = TALibReference.bollinger(prices, period: 5, up: 2, down: 2)
        for index in 4..<60 {
            if (30...34).contains(index) {
                #expect(actual[index] == actual[29], "index \(index): the last value stands, no new one")
            } else {
                expectOutputs([actual[index]], match: [expected[index]], "index \(index)")
            }
        }
    }

    @Test("ATR on bars", arguments: [2, 14, 100])
    func atr(period: Int) throws {
        let actual = try engineOutputs(.atr, period: period, bars: Self.bars).map { $0?.first }
        expectSeries(actual, matches: TALibReference.atr(Self.bars, period: period), "ATR(\(period))")
    }

    @Test("Stochastic on bars", arguments: [(5, 3, 3), (1, 1, 1), (14, 3, 5), (50, 1, 2)])
    func stochastic(periods: (Int, Int, Int)) throws {
        let (fastK, slowK, slowD) = periods
        let actual = try engineOutputs(.stochastic, parameters: .stochastic(fastK: fastK, slowK: slowK, slowD: slowD),
                                       bars: Self.bars)
        expectOutputs(actual, match: TALibReference.stochastic(Self.bars, fastK: fastK, slowK: slowK, slowD: slowD),
                      "STOCH\(periods)")
    }

    @Test("Stochastic's extremes hold on a steadily falling and a steadily rising market")
    func stochasticMonotonicMarkets() throws {
        for step in [-1.0, 1.0] {
            let bars = (0..<300).map { index -> Bar in
                let close = 60_000 + step * Double(index)
                return Bar(high: close + 0.5, low: close - 0.5, close: close, volume: 1, quoteVolume: close, timeMs: 0)
            }
            let parameters = IndicatorParameters.stochastic(fastK: 40, slowK: 3, slowD: 3)
            expectOutputs(try engineOutputs(.stochastic, parameters: parameters, bars: bars),
                          match: TALibReference.stochastic(bars, fastK: 40, slowK: 3, slowD: 3), "step \(step)")
        }
    }

    @Test("VWAP anchored to the UTC day restarts at midnight; anchored to the candle it is each bar's own")
    func vwap() throws {
        let day = try engineOutputs(.vwap, parameters: .vwap(.utcDay), bars: Self.bars).map { $0?.first }
        expectSeries(day, matches: TALibReference.dayVWAP(Self.bars), "VWAP day")
        let candle = try engineOutputs(.vwap, parameters: .vwap(.candle), bars: Self.bars).map { $0?.first }
        let own = Self.bars.map { $0.volume > 0 ? $0.quoteVolume / $0.volume : nil }
        // A bar without volume has no VWAP of its own: the state keeps its last value.
        for (index, value) in own.enumerated() where value != nil {
            #expect(candle[index] == value, "bar \(index)")
        }
        let perTrade = try engineOutputs(.vwap, parameters: .vwap(.utcDay), bars: Self.trades).map { $0?.first }
        expectSeries(perTrade, matches: TALibReference.dayVWAP(Self.trades), "VWAP per trade")
    }

    @Test("a state subscribed late warms from the history: the day's VWAP, and every bar held for the rest")
    func lateSubscriptionsWarm() throws {
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 1000, maxPeriod: 1000, maxIndicators: 8)
        for (index, bar) in Self.bars.enumerated() {
            engine.ingest(symbol: 0, bar: bar, tradeId: Int64(index), tradeTimeMs: bar.timeMs)
        }
        let cases: [(IndicatorKind, Int, IndicatorParameters, IndicatorOutputs?)] = [
            (.macd, 0, .macdDefault, TALibReference.macd(Self.bars.map(\.close), fast: 12, slow: 26, signal: 9).last!),
            (.bollinger, 20, .bollingerDefault,
             TALibReference.bollinger(Self.bars.map(\.close), period: 20, up: 2, down: 2).last!),
            (.atr, 14, .none, TALibReference.atr(Self.bars, period: 14).last!.map { IndicatorOutputs($0) }),
            (.stochastic, 0, .stochasticDefault, TALibReference.stochastic(Self.bars, fastK: 5, slowK: 3, slowD: 3).last!),
            (.vwap, 0, .vwap(.utcDay), TALibReference.dayVWAP(Self.bars).last!.map { IndicatorOutputs($0) }),
        ]
        for (kind, period, parameters, expected) in cases {
            let handle = try engine.subscribe(symbol: 0, kind: kind, period: period, parameters: parameters).get()
            expectOutputs([engine.value(of: handle)?.outputs], match: [expected], "late \(kind)")
        }
    }

    @Test("peek equals the update it previews, and commits nothing", arguments: [
        (IndicatorKind.macd, 0, IndicatorParameters.macdDefault), (.bollinger, 20, .bollingerDefault),
        (.atr, 14, .none), (.stochastic, 0, .stochasticDefault), (.vwap, 0, .vwap(.candle)), (.vwap, 0, .vwap(.utcDay)),
    ])
    func peekPreviewsTheUpdate(kind: IndicatorKind, period: Int, parameters: IndicatorParameters) throws {
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 100, maxPeriod: 100, maxIndicators: 2)
        let handle = try engine.subscribe(symbol: 0, kind: kind, period: period, parameters: parameters).get()
        let twin = try engine.subscribe(symbol: 0, kind: .sma, period: 2).get()
        _ = twin
        for (index, bar) in Self.bars.enumerated() {
            // Two peeks with different bars first: neither may leave a trace.
            _ = engine.peek(handle, bar: Bar(high: 1e6, low: 1, close: 2, volume: 5, quoteVolume: 10, timeMs: bar.timeMs))
            let preview = engine.peek(handle, bar: bar)
            engine.ingest(symbol: 0, bar: bar, tradeId: Int64(index), tradeTimeMs: bar.timeMs)
            if let preview {
                #expect(engine.value(of: handle)?.outputs == preview, "\(kind) bar \(index)")
            }
        }
    }
}
