import MarketData

/// Per-symbol trade-id bookkeeping. Binance numbers trades (and aggregate
/// trades) consecutively per symbol, so the id says whether a trade was
/// already delivered (a duplicate from an overlapping connection) and how
/// many were missed (a gap after a reconnect).
///
/// Nothing can poison it: an id that is implausible next to the last
/// delivered one (a jump past `maxPlausibleJump`, or ids going up while trade
/// time goes back) is held as a suspect, and the symbol's next trade decides.
/// If it continues the old sequence the suspect was an outlier and is
/// dropped; if it continues the suspect, Binance reset its ids and the new
/// sequence is accepted. Either way one bad frame never moves `lastID`, so it
/// can no longer turn every later real trade into a "duplicate".
///
/// Allocation-free per trade: the per-symbol state and the open gaps are
/// sized once at startup.
public struct TradeSequencer: Sendable {
    public enum Admission: Equatable, Sendable {
        /// The first trade seen for this symbol.
        case first
        /// Exactly the next id.
        case next
        /// Newer, but `missing` trades were never delivered: they are now an open gap.
        case afterGap(missing: Int64, lastID: Int64)
        /// Older than the last delivered, but inside an open gap: delivered late, once.
        case lateFill
        /// Already delivered (or older, and no open gap holds it): drop it.
        case duplicate
        /// Implausible next to `lastID`: held until the symbol's next trade.
        /// `droppedOutlierID`: the suspect held before, now dropped as an outlier.
        case suspect(lastID: Int64, droppedOutlierID: Int64?)
        /// The old sequence went on: suspect `outlierID` is dropped; this trade
        /// is new, after `missing` ids never delivered (0: exactly the next).
        case afterOutlier(outlierID: Int64, missing: Int64, lastID: Int64)
        /// The suspect began a new sequence (this trade continues it): deliver
        /// `suspect`, then this trade. `previousID`: where the old sequence ended.
        case afterReset(suspect: Trade, previousID: Int64, missing: Int64)
    }

    /// How a trade's id stands next to a reference trade of its symbol.
    private enum Relation {
        /// Newer, and a plausible next step.
        case continues
        /// Not newer, and within the bound: a duplicate or a late trade.
        case older
        /// Too far either way, or newer while earlier in time.
        case implausible
    }

    /// Where one symbol's sequence stands.
    struct SymbolSequence: Sendable {
        /// Last delivered id; nil before the first trade.
        var lastID: Int64?
        var lastTradeTimeMs: Int64 = .min
        /// An implausible trade waiting for the symbol's next trade.
        var suspect: Trade?
        /// Trades dropped since the last delivery (the cut-off watch reads it).
        var droppedSinceDelivery = 0
        /// Deliveries so far, wrapping (the cut-off watch compares samples).
        var deliveries: UInt64 = 0
    }

    /// A larger jump is suspect. It is the backfill's bound as well (the
    /// future `--backfill-max-trades`): a gap wider than this cannot be
    /// repaired, so it may as well be proved by the next trade.
    public let maxPlausibleJump: Int64
    private(set) var symbols: [SymbolSequence]
    public private(set) var openGaps: OpenGaps
    public private(set) var duplicatesDropped = 0
    public private(set) var missingTrades: Int64 = 0
    public private(set) var lateTradesDelivered = 0
    public private(set) var suspects = 0
    public private(set) var outliersDropped = 0
    public private(set) var resets = 0

    public static var defaultMaxPlausibleJump: Int64 { 50_000 }

    public init(symbolCount: Int, maxPlausibleJump: Int64 = Self.defaultMaxPlausibleJump) {
        precondition(maxPlausibleJump > 0, "the plausible jump must be positive")
        self.maxPlausibleJump = maxPlausibleJump
        symbols = Array(repeating: SymbolSequence(), count: symbolCount)
        openGaps = OpenGaps(symbolCount: symbolCount)
    }

    /// Decides about one trade and records what it delivers.
    public mutating func admit(_ trade: Trade) -> Admission {
        let symbol = trade.symbolIndex
        guard let last = symbols[symbol].lastID else {
            deliver(trade)
            return .first
        }
        if let suspect = symbols[symbol].suspect { return resolve(suspect, by: trade, last: last) }
        switch relation(of: trade, to: last, timeMs: symbols[symbol].lastTradeTimeMs) {
        case .continues: return advance(to: trade, from: last)
        case .older: return older(trade)
        case .implausible: return hold(trade, last: last, replacing: nil)
        }
    }

    /// True when this trade (or a later one of its symbol) was delivered.
    public func hasDelivered(symbolIndex: Int, tradeID: Int64) -> Bool {
        guard let last = symbols[symbolIndex].lastID else { return false }
        return tradeID <= last
    }

    /// The last delivered id of a symbol; nil before its first trade.
    public func lastID(of symbolIndex: Int) -> Int64? { symbols[symbolIndex].lastID }

    /// The suspect a symbol holds, if any.
    public func suspect(of symbolIndex: Int) -> Trade? { symbols[symbolIndex].suspect }

    // MARK: Decisions

    private func relation(of trade: Trade, to reference: Int64, timeMs: Int64) -> Relation {
        let (step, overflow) = trade.tradeID.subtractingReportingOverflow(reference)
        if overflow { return .implausible }
        if step <= 0 { return -step <= maxPlausibleJump ? .older : .implausible }
        if step - 1 > maxPlausibleJump { return .implausible }
        // Ids and trade times rise together; a skip that goes back in time is
        // not Binance's. (An exact next id is never doubted: nothing is lost.)
        return step > 1 && trade.tradeTimeMs < timeMs ? .implausible : .continues
    }

    /// With a suspect held: the old sequence, the suspect's, or neither.
    private mutating func resolve(_ suspect: Trade, by trade: Trade, last: Int64) -> Admission {
        let symbol = trade.symbolIndex
        switch relation(of: trade, to: last, timeMs: symbols[symbol].lastTradeTimeMs) {
        case .continues:
            symbols[symbol].suspect = nil
            outliersDropped += 1
            let missing: Int64
            if case .afterGap(let skipped, _) = advance(to: trade, from: last) { missing = skipped } else { missing = 0 }
            return .afterOutlier(outlierID: suspect.tradeID, missing: missing, lastID: last)
        case .older:
            return older(trade)
        case .implausible:
            break
        }
        if trade.tradeID == suspect.tradeID {
            return dropDuplicate(trade)
        }
        guard trade.tradeID > suspect.tradeID,
              relation(of: trade, to: suspect.tradeID, timeMs: suspect.tradeTimeMs) == .continues else {
            outliersDropped += 1
            return hold(trade, last: last, replacing: suspect.tradeID)
        }
        return reset(to: suspect, then: trade, previousID: last)
    }

    private mutating func advance(to trade: Trade, from last: Int64) -> Admission {
        deliver(trade)
        if trade.tradeID == last + 1 { return .next }
        let missing = trade.tradeID - last - 1
        missingTrades += missing
        openGaps.open(TradeIDRange(first: last + 1, last: trade.tradeID - 1), symbol: trade.symbolIndex)
        return .afterGap(missing: missing, lastID: last)
    }

    /// Not newer: a late trade for an open gap, or a duplicate.
    private mutating func older(_ trade: Trade) -> Admission {
        guard openGaps.fill(trade.tradeID, symbol: trade.symbolIndex) else { return dropDuplicate(trade) }
        lateTradesDelivered += 1
        symbols[trade.symbolIndex].droppedSinceDelivery = 0
        symbols[trade.symbolIndex].deliveries &+= 1
        return .lateFill
    }

    private mutating func dropDuplicate(_ trade: Trade) -> Admission {
        duplicatesDropped += 1
        symbols[trade.symbolIndex].droppedSinceDelivery += 1
        return .duplicate
    }

    private mutating func hold(_ trade: Trade, last: Int64, replacing outlier: Int64?) -> Admission {
        suspects += 1
        symbols[trade.symbolIndex].suspect = trade
        if outlier != nil { symbols[trade.symbolIndex].droppedSinceDelivery += 1 }
        return .suspect(lastID: last, droppedOutlierID: outlier)
    }

    /// The suspect was the first trade of a new sequence: the old one's gaps
    /// can never be filled, and the jump itself is not a gap.
    private mutating func reset(to suspect: Trade, then trade: Trade, previousID: Int64) -> Admission {
        let symbol = trade.symbolIndex
        resets += 1
        symbols[symbol].suspect = nil
        openGaps.closeAll(symbol: symbol)
        deliver(suspect)
        let admission = advance(to: trade, from: suspect.tradeID)
        let missing: Int64
        if case .afterGap(let skipped, _) = admission { missing = skipped } else { missing = 0 }
        return .afterReset(suspect: suspect, previousID: previousID, missing: missing)
    }

    private mutating func deliver(_ trade: Trade) {
        let symbol = trade.symbolIndex
        symbols[symbol].lastID = trade.tradeID
        symbols[symbol].lastTradeTimeMs = trade.tradeTimeMs
        symbols[symbol].droppedSinceDelivery = 0
        symbols[symbol].deliveries &+= 1
    }
}
