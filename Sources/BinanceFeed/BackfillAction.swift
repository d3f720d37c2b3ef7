import MarketData

/// One `trades.historical` request: `limit` trades of a symbol from `fromID` on.
struct BackfillRequest: Equatable, Sendable {
    var requestID: Int64
    var symbolIndex: Int
    var fromID: Int64
    var limit: Int
}

/// What the backfill driver must do after a transition of BackfillMachine.
/// The machine decides; BackfillCoordinator does the I/O, in the order given.
enum BackfillAction: Equatable, Sendable {
    /// Open the WebSocket API connection `serial`; it reports back opened or ended.
    case open(serial: UInt32)
    /// Close it gracefully (idle, or the server is stopping).
    case close(serial: UInt32)
    /// Tear it down now (its handshake took too long).
    case end(serial: UInt32, reason: String)
    /// Send the request on connection `serial`.
    case send(serial: UInt32, BackfillRequest)
    /// Hand this trade to the sink, now: a backfilled one or a released live one,
    /// always in the symbol's id order.
    case deliver(Trade)
    /// Tell every client these ids will never come (after what came before them).
    case announce(TradeGap)
    /// For the log: the API refused or failed (the machine already decided what follows).
    case report(BackfillEvent)
    /// Send `klines` request `requestID` on connection `serial`.
    case sendKlines(serial: UInt32, requestID: Int64, KlineRequest)
    /// A warm-up fetch arrived, failed or waits for a retry.
    case klines(KlineFetchReport)
}

/// What the backfill tells its owner for the log (the feed has no logger).
public enum BackfillEvent: Equatable, Sendable {
    /// A symbol's gap was found; its live trades are held until it is repaired.
    case gapFound(symbol: String, firstMissingID: Int64, lastMissingID: Int64)
    /// Every missing id of the symbol was fetched or announced; the held
    /// live trades were released.
    case released(symbol: String, backfilled: Int, heldTrades: Int, heldMs: Int64)
    case unrecoverable(symbol: String, gap: TradeGap)
    /// A non-200 reply (or an unreadable one).
    case apiRefused(status: Int, code: Int, message: String, retryInMs: Int64?)
    case apiConnectionEnded(connection: UInt32, reason: String)
}

/// Counters for the metrics endpoint.
public struct BackfillStatistics: Equatable, Sendable {
    public var requests = 0
    public var tradesBackfilled = 0
    /// The REQUEST_WEIGHT the API last reported as used in its window.
    public var weightUsed = 0
    public var weightLimit = 6000
    /// Weight our requests cost, summed (the API's own count resets each window).
    public var weightSpent = 0
    public var unrecoverableGaps = 0
    public var unrecoverableTrades: Int64 = 0
    public var unrecoverableByReason: [TradeGap.Reason: Int] = [:]
    /// Holds that ended (a symbol's live trades released), and their total length.
    public var holdsReleased = 0
    public var heldNanosTotal: Int64 = 0
    public var heldNanosMax: Int64 = 0
    public var liveTradesHeld = 0
    public init() {}
}
