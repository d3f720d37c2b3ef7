import MarketData

/// One symbol's tape while it has a gap open: in id order, the ranges still
/// to fetch, the live trades that arrived behind them, and the notices of
/// ranges given up. Only the front may leave, so clients see it in order.
struct SymbolBackfill {
    enum Item: Equatable {
        /// Ids still to fetch, inclusive; given up at `deadlineNanos`.
        case missing(first: Int64, last: Int64, deadlineNanos: Int64)
        /// A live trade held behind the ranges before it.
        case live(Trade)
        /// A range given up, announced when it reaches the front.
        case notice(TradeGap)
    }

    private(set) var items: [Item] = []
    /// Index of the front item (popping from the front without shifting).
    private var head = 0
    let sinceNanos: Int64
    private(set) var liveHeld = 0
    private(set) var backfilled = 0

    init(sinceNanos: Int64) {
        self.sinceNanos = sinceNanos
    }

    var front: Item? { head < items.count ? items[head] : nil }
    var isEmpty: Bool { head == items.count }

    mutating func append(_ item: Item) {
        if case .live = item { liveHeld += 1 }
        items.append(item)
    }

    mutating func popFront() {
        head += 1
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
    }

    mutating func replaceFront(_ item: Item) {
        items[head] = item
    }

    mutating func countBackfilled(_ count: Int) { backfilled += count }

    /// Turns the ranges still to fetch that `expired` picks (by deadline) into notices.
    mutating func giveUp(symbolIndex: Int, reason: TradeGap.Reason, detail: String,
                         where expired: (_ deadlineNanos: Int64) -> Bool) {
        for index in head..<items.count {
            guard case .missing(let first, let last, let deadline) = items[index], expired(deadline) else { continue }
            items[index] = .notice(TradeGap(symbolIndex: symbolIndex, firstMissingID: first, lastMissingID: last,
                                            reason: reason, detail: detail))
        }
    }

    /// The earliest deadline of a range still to fetch.
    var nextDeadlineNanos: Int64? {
        var earliest: Int64?
        for index in head..<items.count {
            if case .missing(_, _, let deadline) = items[index] { earliest = min(earliest ?? deadline, deadline) }
        }
        return earliest
    }
}
