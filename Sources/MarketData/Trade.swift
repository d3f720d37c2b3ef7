/// One trade as it enters Tickwire, whatever the source (replay or live).
public struct Trade: Equatable, Sendable {
    /// Index into the server's SymbolTable.
    public var symbolIndex: Int
    public var tradeID: Int64
    public var price: Double
    public var quantity: Double
    public var tradeTimeMs: Int64
    public var eventTimeMs: Int64
    /// Wall-clock time at which the frame carrying the trade was read.
    public var ingestUnixNanos: Int64

    public init(symbolIndex: Int, tradeID: Int64, price: Double, quantity: Double,
                tradeTimeMs: Int64, eventTimeMs: Int64, ingestUnixNanos: Int64) {
        self.symbolIndex = symbolIndex
        self.tradeID = tradeID
        self.price = price
        self.quantity = quantity
        self.tradeTimeMs = tradeTimeMs
        self.eventTimeMs = eventTimeMs
        self.ingestUnixNanos = ingestUnixNanos
    }
}

/// The feed boundary: where trades leave a source and enter the engine.
/// Sources are generic over it, so the per-trade call is static.
public protocol TradeSink: AnyObject {
    func publish(_ trade: Trade)
    /// Several trades that became due together, oldest first. A sink may
    /// handle them in one pass over its streams instead of one per trade;
    /// what each stream receives, and in which order, must not change.
    func publish(batch trades: [Trade])
}

extension TradeSink {
    public func publish(batch trades: [Trade]) {
        for trade in trades { publish(trade) }
    }
}

extension TradeSink {
    /// Hands over the trades that became due together, then empties the list
    /// but keeps its capacity (it refills on every event). One trade is a
    /// plain publish; more are one batch, so the sink walks its streams once.
    public func publish(due trades: inout [Trade]) {
        switch trades.count {
        case 0: return
        case 1: publish(trades[0])
        default: publish(batch: trades)
        }
        trades.removeAll(keepingCapacity: true)
    }
}
