import Indicators
import Testing
@testable import Candles
import MarketData

/// Check before joining: fetched klines join the candles built from trades
/// only when they agree. "Binance" here is a book that saw the whole day.
@Suite struct SeedTests {
    static let t0: Int64 = 1_678_406_400_000  // 2023-03-10 00:00 UTC
    static let minute: Int64 = 60_000
    static let trades = CandleFixtures.tradesFromMinuteCandles

    static func book() -> CandleBook {
        CandleBook(symbolCount: 1, historyCapacity: 1_500, maxPeriod: 100, maxIndicators: 16, graceMs: 300)
    }

    /// Binance's klines for the day's first `minutes`, as the fetch delivers
    /// them: no trade ids, closed flag whatever.
    static func fetched(minutes: Int) -> [Candle] {
        var truth = book()
        for trade in trades where trade.tradeTimeMs < t0 + Int64(minutes) * minute { truth.ingest(trade) }
        _ = truth.advanceClock(toUnixMs: t0 + Int64(minutes) * minute + 300)
        return truth.closedCandles(symbol: 0, interval: .oneMinute).map { candle in
            var kline = candle
            kline.firstTradeId = -1
            kline.lastTradeId = -1
            kline.isClosed = false
            return kline
        }
    }

    /// A server started at 10:00:30, mid-candle, now at 10:20:10.
    static let now = t0 + 620 * minute + 10_000

    static func lateStartedBook() -> CandleBook {
        var late = book()
        let start = t0 + 600 * minute + 30_000
        for trade in trades where trade.tradeTimeMs >= start && trade.tradeTimeMs < now { late.ingest(trade) }
        _ = late.advanceClock(toUnixMs: now)
        return late
    }

    @Test func agreeingHistoryJoinsAndIndicatorsAreWarmAtOnce() {
        var late = Self.lateStartedBook()
        let now = Self.now
        let rsi = try! late.subscribe(symbol: 0, interval: .oneMinute, kind: .rsi, period: 30).get()
        #expect(late.value(of: rsi) == nil, "20 closes, one of them partial: not enough before the join")
        let outcome = late.seed(symbol: 0, interval: .oneMinute, history: Self.fetched(minutes: 621), nowMs: now)
        // 600 fetched minutes before the partial one, plus Binance's copy of the partial one.
        #expect(outcome == .joined(added: 601, agreed: 19))
        let joined = late.closedCandles(symbol: 0, interval: .oneMinute)
        #expect(joined.count == 620)
        #expect(joined.map(\.close) == CandleFixtures.realMinuteCandles.prefix(620).map(\.close))
        #expect(joined.allSatisfy { $0.isClosed })
        let expected = ClosesReference.rsi(joined.map(\.close), 30).last!
        #expect(late.value(of: rsi)?.value == expected)
    }

    @Test func aHistoryThatDisagreesIsRefusedAndChangesNothing() {
        var late = Self.lateStartedBook()
        let now = Self.now
        let before = late.closedCandles(symbol: 0, interval: .oneMinute)
        var history = Self.fetched(minutes: 621)
        history[610].high += 0.01
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: history, nowMs: now)
            == .refused(.disagrees(openTimeMs: Self.t0 + 610 * Self.minute, field: .high)))
        history = Self.fetched(minutes: 621)
        history[615].tradeCount -= 1
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: history, nowMs: now)
            == .refused(.disagrees(openTimeMs: Self.t0 + 615 * Self.minute, field: .tradeCount)))
        history = Self.fetched(minutes: 621)
        history[612].takerBuyVolume *= 1.001
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: history, nowMs: now)
            == .refused(.disagrees(openTimeMs: Self.t0 + 612 * Self.minute, field: .takerBuyVolume)))
        #expect(late.closedCandles(symbol: 0, interval: .oneMinute) == before)
    }

    @Test func thePartialFirstCandleMustBeContainedInBinances() {
        var late = Self.lateStartedBook()
        let now = Self.now
        var history = Self.fetched(minutes: 621)
        history[600].close += 1  // the minute the server started in
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: history, nowMs: now)
            == .refused(.disagrees(openTimeMs: Self.t0 + 600 * Self.minute, field: .close)))
    }

    @Test func historiesOfTheWrongShapeAreRefused() {
        var late = Self.lateStartedBook()
        let now = Self.now
        let history = Self.fetched(minutes: 621)
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: Array(history.prefix(590)), nowMs: now)
            == .refused(.leavesGap(lastFetchedOpenMs: Self.t0 + 589 * Self.minute,
                                   neededOpenMs: Self.t0 + 600 * Self.minute)))
        var holed = history
        holed.remove(at: 300)
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: holed, nowMs: now)
            == .refused(.notContiguous(openTimeMs: Self.t0 + 301 * Self.minute)))
        var shifted = history
        shifted[5].openTimeMs += 1
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: shifted, nowMs: now)
            == .refused(.misaligned(openTimeMs: Self.t0 + 5 * Self.minute + 1)))
        #expect(late.seed(symbol: 0, interval: .fiveMinutes, history: history, nowMs: now)
            == .refused(.misaligned(openTimeMs: Self.t0)), "1m klines are not 5m ones")
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: [], nowMs: now) == .refused(.empty))
    }

    @Test func klinesTradesAreStillBuildingAreLeftToTheTrades() {
        var late = Self.lateStartedBook()
        let now = Self.now
        var history = Self.fetched(minutes: 621)
        history.append(history.last!)  // Binance's forming 10:20 kline, different from ours
        history[history.count - 1].openTimeMs += Self.minute
        history[history.count - 1].closeTimeMs += Self.minute
        history[history.count - 1].close = 1
        let forming = late.forming(symbol: 0, interval: .oneMinute)
        #expect(late.seed(symbol: 0, interval: .oneMinute, history: history, nowMs: now) == .joined(added: 601, agreed: 19))
        #expect(late.forming(symbol: 0, interval: .oneMinute) == forming)
    }

    @Test func aSeriesWithoutTradesTakesTheHistoryAndFormsFlatAfterIt() {
        var fresh = Self.book()
        let now = Self.t0 + 30 * Self.minute + 5 // before any trade of 00:30
        #expect(fresh.seed(symbol: 0, interval: .oneMinute, history: Self.fetched(minutes: 30), nowMs: now)
            == .joined(added: 30, agreed: 0))
        let forming = fresh.forming(symbol: 0, interval: .oneMinute)
        #expect(forming?.openTimeMs == Self.t0 + 30 * Self.minute && forming?.tradeCount == 0)
        #expect(forming?.close == CandleFixtures.realMinuteCandles[29].close)
        for trade in Self.trades where trade.tradeTimeMs >= now && trade.tradeTimeMs < Self.t0 + 40 * Self.minute {
            fresh.ingest(trade)
        }
        #expect(fresh.closedCandles(symbol: 0, interval: .oneMinute).map(\.close)
            == CandleFixtures.realMinuteCandles.prefix(39).map(\.close))
    }
}
