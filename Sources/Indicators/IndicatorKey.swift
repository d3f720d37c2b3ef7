/// Names one shared indicator state: the engine keeps at most one per key.
public struct IndicatorKey: Hashable, Sendable {
    /// Index of the symbol, in `0..<IndicatorEngine.symbolCount`.
    public var symbol: Int
    public var kind: IndicatorKind
    /// Number of prices (SMA, EMA) or price changes (RSI) the indicator spans.
    public var period: Int

    public init(symbol: Int, kind: IndicatorKind, period: Int) {
        self.symbol = symbol
        self.kind = kind
        self.period = period
    }
}
