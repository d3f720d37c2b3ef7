/// The latest output of one indicator state, stamped with the trade that produced it.
public struct IndicatorValue: Equatable, Sendable {
    /// Every output once `tradeId` has been applied, in the kind's documented order.
    public var outputs: IndicatorOutputs
    /// Exchange id of the trade whose price produced `value`.
    public var tradeId: Int64
    /// Exchange time of that trade.
    public var tradeTimeMs: Int64
    /// The engine's `version` when `value` was produced. A batcher that remembers
    /// the engine version of its previous batch sends exactly the states whose
    /// `version` is greater.
    public var version: UInt64

    /// The first output: the whole value of a single-output kind (SMA, EMA, RSI, ATR, VWAP).
    public var value: Double { outputs.first }

    public init(outputs: IndicatorOutputs, tradeId: Int64, tradeTimeMs: Int64, version: UInt64) {
        self.outputs = outputs
        self.tradeId = tradeId
        self.tradeTimeMs = tradeTimeMs
        self.version = version
    }

    public init(value: Double, tradeId: Int64, tradeTimeMs: Int64, version: UInt64) {
        self.init(outputs: IndicatorOutputs(value), tradeId: tradeId, tradeTimeMs: tradeTimeMs, version: version)
    }
}
