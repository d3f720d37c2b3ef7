import Indicators

/// One kline, with Binance's fields and meanings.
///
/// An interval without trades is what Binance's own klines show: open, high,
/// low and close all equal to the previous candle's close, every volume 0 and
/// a trade count of 0 (see docs/candles.md for the evidence). Its trade ids
/// are -1, for "no trade", as Binance's kline stream reports them.
public struct Candle: Equatable, Sendable {
    public var openTimeMs: Int64
    /// The last millisecond of the interval: open + span - 1, as Binance has it.
    public var closeTimeMs: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    /// Base-asset volume: the sum of quantities.
    public var volume: Double
    /// Quote-asset volume: the sum of price × quantity.
    public var quoteVolume: Double
    public var tradeCount: Int64
    /// Base volume of trades whose taker bought (Binance's `m` false).
    public var takerBuyVolume: Double
    /// Quote volume of those trades.
    public var takerBuyQuoteVolume: Double
    /// -1 when the candle has no trade, or when it came from fetched klines (they carry no ids).
    public var firstTradeId: Int64
    public var lastTradeId: Int64
    /// False while the interval is still forming; a closed candle never changes.
    public var isClosed: Bool

    public init(openTimeMs: Int64, closeTimeMs: Int64, open: Double, high: Double, low: Double, close: Double,
                volume: Double, quoteVolume: Double, tradeCount: Int64, takerBuyVolume: Double,
                takerBuyQuoteVolume: Double, firstTradeId: Int64 = -1, lastTradeId: Int64 = -1,
                isClosed: Bool) {
        self.openTimeMs = openTimeMs
        self.closeTimeMs = closeTimeMs
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.quoteVolume = quoteVolume
        self.tradeCount = tradeCount
        self.takerBuyVolume = takerBuyVolume
        self.takerBuyQuoteVolume = takerBuyQuoteVolume
        self.firstTradeId = firstTradeId
        self.lastTradeId = lastTradeId
        self.isClosed = isClosed
    }

    /// A forming candle without trades yet: flat at the previous close.
    static func empty(openTimeMs: Int64, interval: CandleInterval, previousClose: Double) -> Candle {
        Candle(openTimeMs: openTimeMs, closeTimeMs: openTimeMs + interval.durationMs - 1,
               open: previousClose, high: previousClose, low: previousClose, close: previousClose,
               volume: 0, quoteVolume: 0, tradeCount: 0, takerBuyVolume: 0, takerBuyQuoteVolume: 0,
               isClosed: false)
    }

    /// Folds one trade in. The first trade of the candle sets all four prices.
    mutating func apply(price: Double, quantity: Double, tradeId: Int64, isBuyerMaker: Bool) {
        if tradeCount == 0 {
            open = price
            high = price
            low = price
            firstTradeId = tradeId
        } else {
            if price > high { high = price }
            if price < low { low = price }
        }
        close = price
        lastTradeId = tradeId
        tradeCount += 1
        let quote = price * quantity
        volume += quantity
        quoteVolume += quote
        if !isBuyerMaker {
            takerBuyVolume += quantity
            takerBuyQuoteVolume += quote
        }
    }
}

extension Candle {
    /// A kline as Binance's `klines` method returns it (no trade ids; the
    /// close time follows from the interval), for `CandleSeries.seed`.
    public static func fetched(openTimeMs: Int64, interval: CandleInterval, open: Double, high: Double, low: Double,
                               close: Double, volume: Double, quoteVolume: Double, tradeCount: Int64,
                               takerBuyVolume: Double, takerBuyQuoteVolume: Double) -> Candle {
        Candle(openTimeMs: openTimeMs, closeTimeMs: openTimeMs + interval.durationMs - 1, open: open, high: high,
               low: low, close: close, volume: volume, quoteVolume: quoteVolume, tradeCount: tradeCount,
               takerBuyVolume: takerBuyVolume, takerBuyQuoteVolume: takerBuyQuoteVolume, isClosed: true)
    }
}

extension Candle {
    /// The candle as an indicator's input: its prices, volumes and open time
    /// (the UTC day a day-anchored VWAP files it under).
    public var bar: Bar {
        Bar(high: high, low: low, close: close, volume: volume, quoteVolume: quoteVolume, timeMs: openTimeMs)
    }
}
