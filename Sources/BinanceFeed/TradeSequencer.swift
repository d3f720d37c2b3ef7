/// Per-symbol trade-id bookkeeping. Binance numbers trades (and aggregate
/// trades) consecutively per symbol, so the id alone says whether a trade
/// was already delivered (a duplicate from an overlapping connection) and how
/// many were missed (a gap after a reconnect).
public struct TradeSequencer: Sendable {
    public enum Admission: Equatable {
        /// The first trade seen for this symbol.
        case first
        /// Exactly the next id.
        case next
        /// Newer, but `missing` trades were never delivered.
        case afterGap(missing: Int64, lastID: Int64)
        /// Already delivered (or older): drop it.
        case duplicate
    }

    /// Last delivered id per symbol index; nil before the first trade.
    public private(set) var lastID: [Int64?]
    public private(set) var duplicatesDropped = 0
    public private(set) var missingTrades: Int64 = 0

    public init(symbolCount: Int) {
        lastID = Array(repeating: nil, count: symbolCount)
    }

    /// Decides about one trade and, unless it is a duplicate, records it as delivered.
    public mutating func admit(symbolIndex: Int, tradeID: Int64) -> Admission {
        guard let last = lastID[symbolIndex] else {
            lastID[symbolIndex] = tradeID
            return .first
        }
        if tradeID <= last {
            duplicatesDropped += 1
            return .duplicate
        }
        lastID[symbolIndex] = tradeID
        if tradeID == last + 1 { return .next }
        let missing = tradeID - last - 1
        missingTrades += missing
        return .afterGap(missing: missing, lastID: last)
    }

    /// True when this trade (or a later one of its symbol) was delivered.
    public func hasDelivered(symbolIndex: Int, tradeID: Int64) -> Bool {
        guard let last = lastID[symbolIndex] else { return false }
        return tradeID <= last
    }
}
