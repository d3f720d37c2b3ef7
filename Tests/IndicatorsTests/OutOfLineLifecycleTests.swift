import Indicators
import Testing

/// MACD, Bollinger Bands and the Stochastic keep their state behind pointers
/// the engine allocates when a state is created and frees when it leaves its
/// slot. Churning subscriptions, replacing histories and dropping the engine
/// must neither reuse freed memory nor leak (the sanitizer job runs this too).
@Suite("Out-of-line states: created, freed, recreated")
struct OutOfLineLifecycleTests {
    static let kinds: [(IndicatorKind, Int, IndicatorParameters)] = [
        (.macd, 0, .macdDefault), (.bollinger, 20, .bollingerDefault), (.stochastic, 0, .stochasticDefault),
    ]

    @Test func churnKeepsValuesRight() throws {
        let bars = randomBars(count: 300, seed: 7)
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 400, maxPeriod: 400, maxIndicators: 3)
        for round in 0..<50 {
            var handles: [IndicatorHandle] = []
            for (kind, period, parameters) in Self.kinds {
                handles.append(try engine.subscribe(symbol: 0, kind: kind, period: period, parameters: parameters).get())
            }
            let bar = bars[round]
            engine.ingest(symbol: 0, bar: bar, tradeId: Int64(round), tradeTimeMs: bar.timeMs)
            for handle in handles { engine.unsubscribe(handle) }
            #expect(engine.activeIndicatorCount == 0)
        }
        // A state created after the churn warms from the history like any other.
        let handle = try engine.subscribe(symbol: 0, kind: .stochastic, period: 0, parameters: .stochasticDefault).get()
        let expected = TALibReference.stochastic(Array(bars[0..<50]), fastK: 5, slowK: 3, slowD: 3).last!
        expectOutputs([engine.value(of: handle)?.outputs], match: [expected], "stochastic after churn")
    }

    @Test func replacingTheHistoryRestartsLiveStates() throws {
        let bars = randomBars(count: 200, seed: 8)
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 400, maxPeriod: 400, maxIndicators: 3)
        var handles: [IndicatorHandle] = []
        for (kind, period, parameters) in Self.kinds {
            handles.append(try engine.subscribe(symbol: 0, kind: kind, period: period, parameters: parameters).get())
        }
        for (index, bar) in bars.prefix(100).enumerated() {
            engine.ingest(symbol: 0, bar: bar, tradeId: Int64(index), tradeTimeMs: bar.timeMs)
        }
        engine.replaceHistory(of: 0, with: Array(bars), newestTradeId: 1, newestTradeTimeMs: 2)
        let closes = bars.map(\.close)
        expectOutputs(handles.map { engine.value(of: $0)?.outputs }, match: [
            TALibReference.macd(closes, fast: 12, slow: 26, signal: 9).last!,
            TALibReference.bollinger(closes, period: 20, up: 2, down: 2).last!,
            TALibReference.stochastic(bars, fastK: 5, slowK: 3, slowD: 3).last!,
        ], "after replaceHistory")
    }
}
