/// Names one shared indicator state: the engine keeps at most one per key.
public struct IndicatorKey: Hashable, Sendable {
    /// Index of the symbol, in `0..<IndicatorEngine.symbolCount`.
    public var symbol: Int
    public var kind: IndicatorKind
    /// Number of prices (SMA, EMA, Bollinger Bands), price changes (RSI) or
    /// true ranges (ATR) the indicator spans; 0 for MACD, Stochastic and VWAP,
    /// whose periods are in `parameters`.
    public var period: Int
    /// Everything else that tells two states of one kind apart.
    public var parameters: IndicatorParameters

    public init(symbol: Int, kind: IndicatorKind, period: Int, parameters: IndicatorParameters = .none) {
        self.symbol = symbol
        self.kind = kind
        self.period = period
        self.parameters = parameters
    }
}
