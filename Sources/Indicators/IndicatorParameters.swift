/// The parameters of a kind beyond its `period`, part of a state's identity.
///
/// Two requests that resolve to the same parameters (one naming the defaults,
/// one leaving them out) share one state. Validation against the server's
/// limits happens before a key is made (`IndicatorParameters.problem`).
public enum IndicatorParameters: Hashable, Sendable {
    /// The kind has only a period: SMA, EMA, RSI, ATR.
    case none
    /// MACD: two EMAs of the price and an EMA of their difference.
    case macd(fast: Int, slow: Int, signal: Int)
    /// Bollinger Bands: how many standard deviations above and below the middle band.
    case bollinger(deviationsUp: Double, deviationsDown: Double)
    /// Stochastic: the %K window, then TA-Lib's SMA smoothing of %K and of slow %K.
    case stochastic(fastK: Int, slowK: Int, slowD: Int)
    /// VWAP: where its sums restart.
    case vwap(VWAPAnchor)

    public static let macdDefault = IndicatorParameters.macd(fast: 12, slow: 26, signal: 9)
    public static let bollingerDefault = IndicatorParameters.bollinger(deviationsUp: 2, deviationsDown: 2)
    public static let stochasticDefault = IndicatorParameters.stochastic(fastK: 5, slowK: 3, slowD: 3)
}

/// Where a VWAP's sums restart.
public enum VWAPAnchor: UInt8, Hashable, Sendable {
    /// At 00:00 UTC: the day's Σ price×qty / Σ qty so far.
    case utcDay = 1
    /// At every candle: each candle's own Σ price×qty / Σ qty (needs an interval).
    case candle = 2
}
