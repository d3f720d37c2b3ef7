/// The candle limits, from the command line.
public struct CandleSettings: Sendable {
    /// Closed candles kept per (symbol, interval) (--max-candle-history); bounds
    /// the longest period of an indicator on candles.
    public var historyCapacity = 1000
    /// How long after a candle's end the clock closes it (docs/candles.md
    /// measures why 300 ms).
    public var closeGraceMs: Int64 = 300
    /// Distinct (symbol, interval, type, period) indicator states on candles.
    public var maxIndicators = 4096
    /// What "now" is for closing candles.
    public var clock = CandleClock.wall

    public init() {}
}

/// The time candles close by.
public enum CandleClock: Sendable {
    /// The wall clock: live trades carry Binance's time, which is ours within milliseconds.
    case wall
    /// The newest trade time seen: a replayed recording's hours are not today's.
    case newestTrade
}
