/// The latest output of one indicator state, stamped with the trade that produced it.
public struct IndicatorValue: Equatable, Sendable {
    /// The indicator's value once `tradeId` has been applied.
    public var value: Double
    /// Exchange id of the trade whose price produced `value`.
    public var tradeId: Int64
    /// Exchange time of that trade.
    public var tradeTimeMs: Int64
    /// The engine's `version` when `value` was produced. A batcher that remembers
    /// the engine version of its previous batch sends exactly the states whose
    /// `version` is greater.
    public var version: UInt64

    public init(value: Double, tradeId: Int64, tradeTimeMs: Int64, version: UInt64) {
        self.value = value
        self.tradeId = tradeId
        self.tradeTimeMs = tradeTimeMs
        self.version = version
    }
}
