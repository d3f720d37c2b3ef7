/// One kline (candlestick) as Binance's WebSocket API `klines` method returns
/// it: the 12-element array, named. This is the boundary the candle builder
/// reads warm-up history from, so it depends on no candle type.
public struct Kline: Equatable, Sendable {
    /// Upper case, as configured (`SymbolTable.upperCased`).
    public var symbol: String
    /// Binance's interval name, one of `BinanceKlineInterval.names`.
    public var interval: String
    public var openTimeMs: Int64
    /// The last millisecond of the interval (open + length − 1).
    public var closeTimeMs: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    /// Base asset volume ("Volume").
    public var baseVolume: Double
    /// Quote asset volume.
    public var quoteVolume: Double
    public var tradeCount: Int64
    public var takerBuyBaseVolume: Double
    public var takerBuyQuoteVolume: Double

    public init(symbol: String, interval: String, openTimeMs: Int64, closeTimeMs: Int64, open: Double, high: Double,
                low: Double, close: Double, baseVolume: Double, quoteVolume: Double, tradeCount: Int64,
                takerBuyBaseVolume: Double, takerBuyQuoteVolume: Double) {
        self.symbol = symbol
        self.interval = interval
        self.openTimeMs = openTimeMs
        self.closeTimeMs = closeTimeMs
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.baseVolume = baseVolume
        self.quoteVolume = quoteVolume
        self.tradeCount = tradeCount
        self.takerBuyBaseVolume = takerBuyBaseVolume
        self.takerBuyQuoteVolume = takerBuyQuoteVolume
    }
}

/// Binance's spot kline interval names that Tickwire fetches (issue 18's
/// list; Binance also has 3d, 1w and 1M, whose open times are not a fixed
/// multiple of a UTC epoch interval, so candles are not built for them).
public enum BinanceKlineInterval {
    /// Case-sensitive, as Binance spells them ("1m" is a minute, "1M" a month).
    public static let names = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]

    public static func isValid(_ name: String) -> Bool { names.contains(name) }
}
