import Indicators
import Testing
@testable import Candles
import MarketData

/// SMA, EMA and RSI on the closes of real 1m candles, at every close and, for
/// the provisional value, at every trade.
@Suite struct CandleIndicatorTests {
    static let kinds: [(String, IndicatorKind)] = [("sma", .sma), ("ema", .ema), ("rsi", .rsi)]

    @Test(arguments: [14, 50])
    func onCloseValuesEqualTheReferenceAtEveryClose(period: Int) {
        var book = CandleBook(symbolCount: 1, historyCapacity: 1_500, maxPeriod: 100, maxIndicators: 16, graceMs: 300)
        let handles = Self.kinds.map { try! book.subscribe(symbol: 0, interval: .oneMinute, kind: $0.1, period: period).get() }
        var seenCloses: [Double] = []
        var checked = 0
        for trade in CandleFixtures.tradesFromMinuteCandles {
            book.ingest(trade)
            let closedNow = book.closedHeld(symbol: 0, interval: .oneMinute)
            guard closedNow > seenCloses.count else { continue }
            seenCloses = book.closedCandles(symbol: 0, interval: .oneMinute).map(\.close)
            for ((name, _), handle) in zip(Self.kinds, handles) {
                let expected = ClosesReference.values(name, seenCloses, period: period).last!
                let actual = book.value(of: handle)?.value
                #expect(Self.agree(actual, expected), "\(name)(\(period)) after close \(seenCloses.count)")
                checked += 1
            }
        }
        // The real closes themselves: the 1m candles are the CSV's, so TA-Lib on the CSV is this.
        let realCloses = CandleFixtures.realMinuteCandles.map(\.close)
        #expect(Array(seenCloses) == Array(realCloses.prefix(seenCloses.count)))
        #expect(checked >= 3 * 1_400)
    }

    @Test func formingValuesEqualTheReferenceWithTheFormingCloseAppended() {
        var book = CandleBook(symbolCount: 1, historyCapacity: 1_500, maxPeriod: 100, maxIndicators: 16, graceMs: 300)
        let handles = Self.kinds.map { try! book.subscribe(symbol: 0, interval: .oneMinute, kind: $0.1, period: 14).get() }
        var checked = 0
        for (position, trade) in CandleFixtures.tradesFromMinuteCandles.enumerated() where position < 2_000 {
            book.ingest(trade)
            let closes = book.closedCandles(symbol: 0, interval: .oneMinute).map(\.close)
            let formingClose = book.forming(symbol: 0, interval: .oneMinute)!.close
            for ((name, _), handle) in zip(Self.kinds, handles) {
                let expected = ClosesReference.values(name, closes + [formingClose], period: 14).last!
                let before = book.value(of: handle)
                #expect(Self.agree(book.peek(handle)?.first, expected), "\(name) peek at trade \(position)")
                #expect(book.value(of: handle) == before, "peek commits nothing")
                checked += 1
            }
        }
        #expect(checked == 6_000)
    }

    @Test func oneSharedStatePerSeriesKindAndPeriod() {
        var book = CandleBook(symbolCount: 2, historyCapacity: 100, maxPeriod: 50, maxIndicators: 8, graceMs: 300)
        let a = try! book.subscribe(symbol: 0, interval: .oneMinute, kind: .rsi, period: 14).get()
        let b = try! book.subscribe(symbol: 0, interval: .oneMinute, kind: .rsi, period: 14).get()
        let c = try! book.subscribe(symbol: 0, interval: .fiveMinutes, kind: .rsi, period: 14).get()
        let d = try! book.subscribe(symbol: 1, interval: .oneMinute, kind: .rsi, period: 14).get()
        #expect(a == b)
        #expect(Set([a, c, d]).count == 3)
        #expect(book.activeIndicatorCount == 3)
        #expect(throws: SubscribeError.invalidPeriod) {
            try book.subscribe(symbol: 0, interval: .oneMinute, kind: .sma, period: 51).get()
        }
    }

    /// Within 1e-9 relative, the bar (SMA's running sum is compensated, TA-Lib's plain).
    static func agree(_ actual: Double?, _ expected: Double?) -> Bool {
        switch (actual, expected) {
        case (nil, nil): true
        case let (actual?, expected?): relativelyClose(actual, expected) || abs(actual - expected) < 1e-12
        default: false
        }
    }
}
