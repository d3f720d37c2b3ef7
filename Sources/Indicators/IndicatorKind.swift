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

    /// How many prices a fresh state must see before it has a value. RSI needs
    /// one price more than its period because it averages price *changes*.
    public func warmUpPriceCount(period: Int) -> Int {
        switch self {
        case .sma, .ema: period
        case .rsi: period + 1
        }
    }
}
