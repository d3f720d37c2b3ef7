import Testing
@testable import Candles
import MarketData

/// Candles built from trades made out of real candles reproduce those candles,
/// and candles built from real trades reproduce an independent computation.
@Suite struct RealCandleTests {
    static let dayEndMs: Int64 = 1_678_492_800_000  // 2023-03-11 00:00 UTC

    /// The whole day through a book, closed by the clock at the end.
    static func dayBook() -> CandleBook {
        var book = CandleBook(symbolCount: 1, historyCapacity: 1_500, maxPeriod: 100, maxIndicators: 16, graceMs: 300)
        for trade in CandleFixtures.tradesFromMinuteCandles { book.ingest(trade) }
        _ = book.advanceClock(toUnixMs: dayEndMs + 300)
        return book
    }

    @Test func minuteCandlesEqualTheRealOnesFieldByField() {
        let real = CandleFixtures.realMinuteCandles
        let built = Self.dayBook().closedCandles(symbol: 0, interval: .oneMinute)
        #expect(real.count == 1_440)
        #expect(built.count == real.count)
        for (candle, kline) in zip(built, real) {
            #expect(candle.openTimeMs == kline.openTimeMs)
            #expect(candle.closeTimeMs == kline.openTimeMs + 59_999)
            #expect(candle.open == kline.open && candle.high == kline.high, "\(kline.openTimeMs)")
            #expect(candle.low == kline.low && candle.close == kline.close, "\(kline.openTimeMs)")
            // The script splits each candle's volume into four 8-decimal quantities.
            #expect(relativelyClose(candle.volume, kline.volume) || candle.volume == kline.volume)
            // Binance.US's CSV has no trade count; the script makes four trades per candle with volume.
            #expect(candle.tradeCount == (kline.volume > 0 ? 4 : 0))
        }
    }

    @Test(arguments: [(CandleInterval.fiveMinutes, 5), (.fifteenMinutes, 15), (.oneHour, 60)])
    func longerIntervalsEqualTheAggregationOfTheRealMinutes(interval: CandleInterval, minutes: Int) {
        let real = CandleFixtures.realMinuteCandles
        let built = Self.dayBook().closedCandles(symbol: 0, interval: interval)
        #expect(built.count == 1_440 / minutes)
        for (index, candle) in built.enumerated() {
            let group = real[(index * minutes)..<((index + 1) * minutes)]
            #expect(candle.openTimeMs == group.first!.openTimeMs)
            #expect(candle.open == group.first!.open)
            #expect(candle.high == group.map(\.high).max()!)
            #expect(candle.low == group.map(\.low).min()!)
            #expect(candle.close == group.last!.close)
            #expect(relativelyClose(candle.volume, group.reduce(0) { $0 + $1.volume }))
        }
    }

    /// 1s candles of the real 2024-08-08 trades, against a plain grouping by second.
    @Test func secondCandlesOfRealTradesEqualAPlainGrouping() {
        let trades = CandleFixtures.recordedTrades
        #expect(trades.count == 15_863)
        var book = CandleBook(symbolCount: 2, historyCapacity: 1_000, maxPeriod: 10, maxIndicators: 4, graceMs: 300)
        for trade in trades { book.ingest(trade) }
        let lastMs = trades.map(\.tradeTimeMs).max()!
        _ = book.advanceClock(toUnixMs: lastMs + 10_000)
        for symbol in 0..<2 {
            let expected = Self.groupBySecond(trades.filter { $0.symbolIndex == symbol }, throughMs: lastMs + 10_000 - 300)
            let built = book.closedCandles(symbol: symbol, interval: .oneSecond)
            #expect(built.count == expected.count)
            for (candle, reference) in zip(built, expected) {
                #expect(candle.openTimeMs == reference.openTimeMs)
                #expect(candle.open == reference.open && candle.high == reference.high)
                #expect(candle.low == reference.low && candle.close == reference.close)
                #expect(candle.tradeCount == reference.tradeCount)
                #expect(candle.firstTradeId == reference.firstTradeId && candle.lastTradeId == reference.lastTradeId)
                #expect(relativelyClose(candle.volume, reference.volume) || reference.volume == 0)
                #expect(relativelyClose(candle.quoteVolume, reference.quoteVolume) || reference.volume == 0)
                #expect(relativelyClose(candle.takerBuyVolume, reference.takerBuyVolume) || reference.takerBuyVolume == 0)
                #expect(relativelyClose(candle.takerBuyQuoteVolume, reference.takerBuyQuoteVolume)
                        || reference.takerBuyVolume == 0)
            }
        }
    }

    /// Independent of the builder: bucket by T / 1000, fill silent seconds with
    /// the previous close, sum volumes with a fresh loop per second.
    static func groupBySecond(_ trades: [Trade], throughMs endMs: Int64) -> [Candle] {
        let buckets = Dictionary(grouping: trades) { $0.tradeTimeMs / 1000 }
        let first = buckets.keys.min()!
        var output: [Candle] = []
        var previousClose = 0.0
        var second = first
        while (second + 1) * 1000 <= endMs {
            let start = second * 1000
            if let group = buckets[second]?.sorted(by: { $0.tradeID < $1.tradeID }) {
                var volume = 0.0, quote = 0.0, takerVolume = 0.0, takerQuote = 0.0
                for trade in group {
                    volume += trade.quantity
                    quote += trade.price * trade.quantity
                    if !trade.isBuyerMaker {
                        takerVolume += trade.quantity
                        takerQuote += trade.price * trade.quantity
                    }
                }
                output.append(Candle(openTimeMs: start, closeTimeMs: start + 999, open: group.first!.price,
                                     high: group.map(\.price).max()!, low: group.map(\.price).min()!,
                                     close: group.last!.price, volume: volume, quoteVolume: quote,
                                     tradeCount: Int64(group.count), takerBuyVolume: takerVolume,
                                     takerBuyQuoteVolume: takerQuote, firstTradeId: group.first!.tradeID,
                                     lastTradeId: group.last!.tradeID, isClosed: true))
                previousClose = group.last!.price
            } else {
                output.append(Candle(openTimeMs: start, closeTimeMs: start + 999, open: previousClose,
                                     high: previousClose, low: previousClose, close: previousClose, volume: 0,
                                     quoteVolume: 0, tradeCount: 0, takerBuyVolume: 0, takerBuyQuoteVolume: 0,
                                     isClosed: true))
            }
            second += 1
        }
        return output
    }
}
