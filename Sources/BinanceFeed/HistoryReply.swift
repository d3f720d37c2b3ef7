/// One trade of Binance's `trades.historical` result, as the API sent it.
public struct HistoricalTrade: Equatable, Sendable {
    public var tradeID: Int64
    public var timeMs: Int64
    public var price: Double
    public var quantity: Double
    /// "isBuyerMaker" ("m" in aggTrades): see `Trade.isBuyerMaker`.
    public var isBuyerMaker: Bool

    public init(tradeID: Int64, timeMs: Int64, price: Double, quantity: Double, isBuyerMaker: Bool = false) {
        self.tradeID = tradeID
        self.timeMs = timeMs
        self.price = price
        self.quantity = quantity
        self.isBuyerMaker = isBuyerMaker
    }
}

/// The REQUEST_WEIGHT limit as the API reported it with a reply.
public struct RequestWeight: Equatable, Sendable {
    /// Weight spent in the current window, this request included.
    public var used: Int
    public var limit: Int
    public var intervalMs: Int64

    public init(used: Int, limit: Int, intervalMs: Int64) {
        self.used = used
        self.limit = limit
        self.intervalMs = intervalMs
    }
}

/// What one WebSocket API reply said.
public enum HistoryReply: Equatable, Sendable {
    /// Status 200: trades from the requested id on (possibly fewer, or none).
    case trades(requestID: Int64, [HistoricalTrade], weight: RequestWeight?)
    /// Any other status. `retryAfterUnixMs` comes with 429 and 418.
    case refused(requestID: Int64, status: Int, code: Int, message: String, retryAfterUnixMs: Int64?,
                 weight: RequestWeight?)
    /// Not JSON, or not the shape of a reply.
    case malformed

    public var requestID: Int64? {
        switch self {
        case .trades(let id, _, _), .refused(let id, _, _, _, _, _): id
        case .malformed: nil
        }
    }

    public var weight: RequestWeight? {
        switch self {
        case .trades(_, _, let weight), .refused(_, _, _, _, _, let weight): weight
        case .malformed: nil
        }
    }
}
