import Testing
@testable import Candles
import MarketData

@Suite struct CandleSeriesTests {
    static let minute: Int64 = 60_000
    /// 2023-03-10 00:00 UTC.
    static let t0: Int64 = 1_678_406_400_000

    func book(history: Int = 8, graceMs: Int64 = 300) -> CandleBook {
        CandleBook(symbolCount: 2, historyCapacity: history, maxPeriod: 8, maxIndicators: 16, graceMs: graceMs)
    }

    @Test func foldsTradesIntoBinanceFields() {
        var candles = book()
        candles.ingest(trade(10, at: Self.t0 + 5, price: 100, quantity: 2, buyerMaker: false))
        candles.ingest(trade(11, at: Self.t0 + 6, price: 103, quantity: 1, buyerMaker: true))
        candles.ingest(trade(12, at: Self.t0 + 7, price: 99, quantity: 3, buyerMaker: false))
        candles.ingest(trade(13, at: Self.t0 + 59_999, price: 101, quantity: 0.5, buyerMaker: true))
        let forming = candles.forming(symbol: 0, interval: .oneMinute)
        #expect(forming == Candle(openTimeMs: Self.t0, closeTimeMs: Self.t0 + 59_999, open: 100, high: 103, low: 99,
                                  close: 101, volume: 6.5, quoteVolume: 200 + 103 + 297 + 50.5, tradeCount: 4,
                                  takerBuyVolume: 5, takerBuyQuoteVolume: 497, firstTradeId: 10, lastTradeId: 13,
                                  isClosed: false))
        #expect(candles.lastClosed(symbol: 0, interval: .oneMinute) == nil)
        #expect(candles.forming(symbol: 1, interval: .oneMinute) == nil, "the other symbol saw no trade")
    }

    @Test func aTradePastTheEndClosesTheCandleAndTheEmptyOnesBetween() {
        var candles = book()
        candles.ingest(trade(1, at: Self.t0 + 10, price: 100))
        candles.ingest(trade(2, at: Self.t0 + 3 * Self.minute + 1, price: 104))
        #expect(candles.closedCount(symbol: 0, interval: .oneMinute) == 3)
        let closed = candles.closedCandles(symbol: 0, interval: .oneMinute)
        #expect(closed.map(\.openTimeMs) == [Self.t0, Self.t0 + Self.minute, Self.t0 + 2 * Self.minute])
        #expect(closed.allSatisfy { $0.isClosed })
        // Binance's klines show a minute without trades flat at the previous close, all volumes 0.
        let empty = closed[1]
        #expect(empty.open == 100 && empty.high == 100 && empty.low == 100 && empty.close == 100)
        #expect(empty.volume == 0 && empty.quoteVolume == 0 && empty.tradeCount == 0)
        #expect(empty.firstTradeId == -1 && empty.lastTradeId == -1)
        #expect(candles.forming(symbol: 0, interval: .oneMinute)?.open == 104)
        #expect(candles.closedCount(symbol: 0, interval: .fiveMinutes) == 0)
    }

    @Test func theClockClosesAfterTheGraceNotBefore() {
        var candles = book(graceMs: 300)
        candles.ingest(trade(1, at: Self.t0 + 10, price: 100))
        let deadline = candles.advanceClock(toUnixMs: Self.t0 + Self.minute + 299)
        #expect(candles.closedCount(symbol: 0, interval: .oneMinute) == 0)
        // The 1s series closed every second but the last, which shares the minute's end.
        #expect(candles.closedCount(symbol: 0, interval: .oneSecond) == 59)
        #expect(deadline == Self.t0 + Self.minute + 300)
        _ = candles.advanceClock(toUnixMs: Self.t0 + Self.minute + 300)
        #expect(candles.closedCount(symbol: 0, interval: .oneMinute) == 1)
        #expect(candles.lastClosed(symbol: 0, interval: .oneMinute)?.close == 100)
        #expect(candles.forming(symbol: 0, interval: .oneMinute)?.tradeCount == 0)
    }

    @Test func aTradeArrivingAfterItsCandleClosedIsCountedAndLeftOut() {
        var candles = book(graceMs: 300)
        candles.ingest(trade(1, at: Self.t0 + 10, price: 100))
        _ = candles.advanceClock(toUnixMs: Self.t0 + Self.minute + 300)
        candles.ingest(trade(2, at: Self.t0 + Self.minute - 1, price: 200))  // stamped in the closed minute
        #expect(candles.lastClosed(symbol: 0, interval: .oneMinute)?.close == 100)
        #expect(candles.forming(symbol: 0, interval: .oneMinute)?.tradeCount == 0)
        #expect(candles.lateTrades >= 1)
        #expect(candles.forming(symbol: 0, interval: .oneHour)?.close == 200, "longer intervals still take it")
    }

    @Test func historyIsBoundedAndKeepsTheNewest() {
        var candles = book(history: 4)
        for minute in 0..<10 {
            candles.ingest(trade(Int64(minute), at: Self.t0 + Int64(minute) * Self.minute, price: Double(100 + minute)))
        }
        #expect(candles.closedCount(symbol: 0, interval: .oneMinute) == 9)
        #expect(candles.closedHeld(symbol: 0, interval: .oneMinute) == 4)
        #expect(candles.closedCandles(symbol: 0, interval: .oneMinute).map(\.close) == [105, 106, 107, 108])
        #expect(candles.memoryBytes > 0)
    }

    @Test func tradeStaysSixtyFourBytes() {
        #expect(MemoryLayout<Trade>.stride == 64)
    }
}

@Suite struct CandleCatchUpTests {
    /// A clock years past the last trade must not close millions of flat candles in one call.
    @Test func aClockFarAheadSkipsTheFlatCandlesPastTheBound() {
        var candles = CandleBook(symbolCount: 1, historyCapacity: 8, maxPeriod: 8, maxIndicators: 4, graceMs: 300)
        candles.ingest(trade(1, at: 1_000, price: 100))
        let later: Int64 = 1_000 + 3 * 365 * 86_400_000
        let started = ContinuousClock.now
        _ = candles.advanceClock(toUnixMs: later)
        #expect(ContinuousClock.now - started < .seconds(5))
        let closed = CandleInterval.allCases.reduce(Int64(0)) { $0 + candles.closedCount(symbol: 0, interval: $1) }
        #expect(closed == Int64(candles.catchUpLimit))
        #expect(candles.closedCount(symbol: 0, interval: .oneMinute) > 0, "closes go in time order across intervals")
        #expect(candles.skippedEmptyCandles > 90_000_000)
        let forming = candles.forming(symbol: 0, interval: .oneSecond)!
        #expect(forming.openTimeMs == CandleInterval.oneSecond.openTime(containing: later - 300))
        #expect(forming.close == 100 && forming.tradeCount == 0)
        candles.ingest(trade(2, at: later, price: 101))
        #expect(candles.forming(symbol: 0, interval: .oneSecond)?.close == 101)
    }
}
