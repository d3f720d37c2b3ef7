import GRPCWire
import Testing
@testable import Engine

/// --max-indicators-per-connection: the streams of one connection share one
/// quota of distinct indicators, so one client cannot take the global pool.
@Suite struct ConnectionIndicatorShareTests {
    final class Connection {}

    private func code(_ outcome: IndicatorRequestOutcome) -> GRPCStatusCode? {
        if case .answered(let status) = outcome { return status.code }
        return nil
    }

    @Test func oneConnectionsStreamsShareOneQuotaAndTheOthersStillSubscribe() {
        let harness = EngineHarness(maxIndicators: 16, maxIndicatorsPerConnection: 3)
        let greedy = Connection()
        let first = harness.open(connection: greedy), second = harness.open(connection: greedy)
        #expect(code(harness.request(.subscribe, .sma, period: 2, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .sma, period: 3, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .sma, period: 4, on: second)) == .ok)
        // A fourth distinct indicator on either stream is over the share.
        guard case .answered(let refused) = harness.request(.subscribe, .sma, period: 5, on: second) else {
            Issue.record("the request was not answered"); return
        }
        #expect(refused.code == .resourceExhausted)
        #expect(refused.message.contains("--max-indicators-per-connection"))
        // One the connection already holds costs nothing more.
        #expect(code(harness.request(.subscribe, .sma, period: 2, on: second)) == .ok)
        #expect(harness.engine.indicators.indicatorCount(ofConnection: ObjectIdentifier(greedy)) == 3)
        // Another connection has its own share, and the pool has room.
        let other = harness.open(connection: Connection())
        #expect(code(harness.request(.subscribe, .ema, period: 5, on: other)) == .ok)
    }

    @Test func unsubscribingAndClosingGiveTheShareBack() {
        let harness = EngineHarness(maxIndicators: 16, maxIndicatorsPerConnection: 2)
        let connection = Connection()
        let first = harness.open(connection: connection), second = harness.open(connection: connection)
        #expect(code(harness.request(.subscribe, .sma, period: 2, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .sma, period: 3, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .sma, period: 2, on: second)) == .ok)
        #expect(code(harness.request(.subscribe, .rsi, period: 4, on: second)) == .resourceExhausted)
        // sma(2) is still held by the second stream: the share stays full.
        #expect(code(harness.request(.unsubscribe, .sma, period: 2, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .rsi, period: 4, on: second)) == .resourceExhausted)
        // The first stream's close gives back sma(3).
        harness.engine.closed(first)
        #expect(code(harness.request(.subscribe, .rsi, period: 4, on: second)) == .ok)
        harness.engine.closed(second)
        #expect(harness.engine.indicators.indicatorCount(ofConnection: ObjectIdentifier(connection)) == 0)
    }

    @Test func thePoolStaysGlobalUnderTheShare() {
        let harness = EngineHarness(maxIndicators: 2, maxIndicatorsPerConnection: 8)
        let first = harness.open(connection: Connection()), second = harness.open(connection: Connection())
        #expect(code(harness.request(.subscribe, .sma, period: 2, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .sma, period: 3, on: second)) == .ok)
        guard case .answered(let refused) = harness.request(.subscribe, .sma, period: 4, on: second) else {
            Issue.record("the request was not answered"); return
        }
        #expect(refused.code == .resourceExhausted && refused.message.contains("--max-indicators)"))
    }

    /// Indicators on candles come from a pool of their own, and count against
    /// the same share: without that, one connection could empty the candle
    /// pool however small its share. The forming variant shares its state.
    @Test func indicatorsOnCandlesCountAgainstTheSameShare() {
        let harness = EngineHarness(maxIndicators: 16, maxIndicatorsPerConnection: 2)
        let connection = Connection()
        let first = harness.open(connection: connection), second = harness.open(connection: connection)
        #expect(code(harness.request(.subscribe, .sma, period: 2, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .rsi, period: 14, interval: .candleInterval1M, on: first)) == .ok)
        #expect(code(harness.request(.subscribe, .rsi, period: 14, interval: .candleInterval1M, forming: true,
                                     on: second)) == .ok)
        guard case .answered(let refused) = harness.request(.subscribe, .ema, period: 9, interval: .candleInterval5M,
                                                            on: second) else {
            Issue.record("the request was not answered"); return
        }
        #expect(refused.code == .resourceExhausted)
        #expect(refused.message.contains("--max-indicators-per-connection"))
        #expect(harness.engine.indicators.indicatorCount(ofConnection: ObjectIdentifier(connection)) == 2)
        // Unsubscribing on one stream keeps the state the other holds; closing both gives the share back.
        #expect(code(harness.request(.unsubscribe, .rsi, period: 14, interval: .candleInterval1M, on: first)) == .ok)
        #expect(harness.engine.indicators.indicatorCount(ofConnection: ObjectIdentifier(connection)) == 2)
        harness.engine.closed(second)
        #expect(harness.engine.indicators.indicatorCount(ofConnection: ObjectIdentifier(connection)) == 1)
        #expect(code(harness.request(.subscribe, .ema, period: 9, interval: .candleInterval5M, on: first)) == .ok)
        harness.engine.closed(first)
        #expect(harness.engine.indicators.indicatorCount(ofConnection: ObjectIdentifier(connection)) == 0)
    }
}
