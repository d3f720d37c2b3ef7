/// The indicators Tickwire computes, with TA-Lib's default definitions.
///
/// Raw values match the wire enum `tickwire.v1.IndicatorType`, so the gRPC layer
/// converts with `IndicatorKind(rawValue:)` and no table.
public enum IndicatorKind: UInt8, Sendable, CaseIterable {
    /// Simple moving average: the mean of the last `period` prices.
    case sma = 1
    /// Exponential moving average with k = 2/(period+1), seeded by the SMA of its first `period` prices.
    case ema = 2
    /// Wilder's relative strength index, 0...100, from smoothed average gains and losses.
    case rsi = 3
    /// Moving average convergence/divergence: fast EMA − slow EMA, its signal EMA, and their difference.
    case macd = 4
    /// Bollinger Bands: SMA(period) ± deviations × the window's population standard deviation.
    case bollinger = 5
    /// Wilder's average true range (candles only: it needs high, low and the previous close).
    case atr = 6
    /// The slow stochastic oscillator, %K and %D, with TA-Lib's SMA smoothing (candles only).
    case stochastic = 7
    /// Volume-weighted average price since the anchor (the UTC day, or the candle).
    case vwap = 8

    /// How many prices a fresh state must see before it has a value. RSI needs
    /// one price more than its period because it averages price *changes*.
    public func warmUpPriceCount(period: Int) -> Int {
        warmUpCount(period: period, parameters: .none)
    }

    /// How many bars (trades or candles) a fresh state must see before its first value.
    public func warmUpCount(period: Int, parameters: IndicatorParameters) -> Int {
        switch (self, parameters) {
        case (.sma, _), (.ema, _), (.bollinger, _): return period
        case (.rsi, _), (.atr, _): return period + 1
        // TA-Lib outputs all three only once the signal EMA is seeded.
        case (.macd, .macd(_, let slow, let signal)): return slow + signal - 1
        // TA-Lib outputs slow %K only where slow %D exists too.
        case (.stochastic, .stochastic(let fastK, let slowK, let slowD)): return fastK + slowK + slowD - 2
        case (.vwap, _): return 1
        case (.macd, _), (.stochastic, _): preconditionFailure("\(self) needs its parameters")
        }
    }

    /// ATR and the Stochastic read high, low and the previous close, which a
    /// single trade does not have: they are served on candle intervals only.
    public var needsCandles: Bool {
        self == .atr || self == .stochastic
    }

    /// Outputs per update (see `IndicatorOutputs` for their order).
    public var outputCount: Int {
        switch self {
        case .macd, .bollinger: 3
        case .stochastic: 2
        case .sma, .ema, .rsi, .atr, .vwap: 1
        }
    }
}
