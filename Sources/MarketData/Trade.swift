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
    /// Missed live and fetched afterwards from Binance's trade history
    /// (then `ingestUnixNanos` is when that history response was read).
    public var isBackfilled: Bool
    /// Binance's `m`: the buyer was the resting order, so the taker sold.
    /// Candles count the quantity as taker-buy volume only when this is false.
    /// (A Bool beside `isBackfilled` fills padding: the struct stays 64 bytes.)
    public var isBuyerMaker: Bool

    public init(symbolIndex: Int, tradeID: Int64, price: Double, quantity: Double,
                tradeTimeMs: Int64, eventTimeMs: Int64, ingestUnixNanos: Int64, isBackfilled: Bool = false,
                isBuyerMaker: Bool = false) {
        self.symbolIndex = symbolIndex
        self.tradeID = tradeID
        self.price = price
        self.quantity = quantity
        self.tradeTimeMs = tradeTimeMs
        self.eventTimeMs = eventTimeMs
        self.ingestUnixNanos = ingestUnixNanos
        self.isBackfilled = isBackfilled
        self.isBuyerMaker = isBuyerMaker
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
    /// Trades that will never come (see TradeGap). Called in trade order:
    /// every trade of the symbol before the gap was already published.
    func announce(_ gap: TradeGap)
}

extension TradeSink {
    public func publish(batch trades: [Trade]) {
        for trade in trades { publish(trade) }
    }

    /// Sources without gaps (the replay) and plain test sinks ignore them.
    public func announce(_ gap: TradeGap) {}
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
