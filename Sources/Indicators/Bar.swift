/// One step of an indicator's input: a trade, or a closed (or forming) candle.
///
/// SMA, EMA, RSI, MACD and Bollinger Bands read only `close`; ATR and the
/// Stochastic need the high and low too, and VWAP the volumes. A trade is the
/// degenerate bar whose high, low and close are its price, so one engine
/// serves both per-trade and candle indicators with one history type.
public struct Bar: Equatable, Sendable {
    public var high: Double
    public var low: Double
    public var close: Double
    /// Base-asset volume: the trade's quantity, or the candle's summed quantities.
    public var volume: Double
    /// Σ price × quantity over the bar's trades (Binance's quote volume).
    public var quoteVolume: Double
    /// The trade's time, or the candle's open time: what VWAP's UTC-day anchor reads.
    public var timeMs: Int64

    public init(high: Double, low: Double, close: Double, volume: Double, quoteVolume: Double, timeMs: Int64) {
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.quoteVolume = quoteVolume
        self.timeMs = timeMs
    }

    /// A single trade as a bar.
    public static func trade(price: Double, quantity: Double, timeMs: Int64) -> Bar {
        Bar(high: price, low: price, close: price, volume: quantity, quoteVolume: price * quantity, timeMs: timeMs)
    }

    static let empty = Bar(high: 0, low: 0, close: 0, volume: 0, quoteVolume: 0, timeMs: 0)
}
