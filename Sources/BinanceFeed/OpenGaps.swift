/// An inclusive run of trade ids of one symbol that were never delivered.
public struct TradeIDRange: Equatable, Sendable {
    public var first: Int64
    public var last: Int64

    public init(first: Int64, last: Int64) {
        precondition(first <= last, "an empty trade-id range: \(first)…\(last)")
        self.first = first
        self.last = last
    }

    public var count: Int64 { last - first + 1 }

    public func contains(_ id: Int64) -> Bool { first <= id && id <= last }
}

/// The gaps of every symbol that are still open, oldest first: what a late
/// trade may still fill, and what a backfill (issue 17, items 1–2) will ask
/// Binance for. Flat storage sized once at startup, at most `perSymbol` gaps
/// a symbol, so opening, filling and evicting never allocate on the per-trade
/// path; the bound only decides how far back a late trade is still recognised.
public struct OpenGaps: Sendable {
    /// Enough for a burst of reconnects; an older gap is forgotten (its ids
    /// stay counted as missing), so a trade for it is then a duplicate.
    public static var perSymbol: Int { 8 }

    private var ranges: [TradeIDRange]
    private var counts: [Int]

    public init(symbolCount: Int) {
        ranges = Array(repeating: TradeIDRange(first: 0, last: 0), count: symbolCount * Self.perSymbol)
        counts = Array(repeating: 0, count: symbolCount)
    }

    /// The open gaps of one symbol, oldest first.
    public func gaps(of symbol: Int) -> ArraySlice<TradeIDRange> {
        let base = symbol * Self.perSymbol
        return ranges[base..<base + counts[symbol]]
    }

    /// Records a new gap, forgetting the symbol's oldest if it has no room.
    mutating func open(_ range: TradeIDRange, symbol: Int) {
        if counts[symbol] == Self.perSymbol { remove(at: 0, symbol: symbol) }
        ranges[symbol * Self.perSymbol + counts[symbol]] = range
        counts[symbol] += 1
    }

    /// Takes `id` out of the open gap that holds it; false when none does.
    mutating func fill(_ id: Int64, symbol: Int) -> Bool {
        let base = symbol * Self.perSymbol
        guard let index = (0..<counts[symbol]).first(where: { ranges[base + $0].contains(id) }) else { return false }
        let range = ranges[base + index]
        if range.first == range.last {
            remove(at: index, symbol: symbol)
        } else if id == range.first {
            ranges[base + index].first = id + 1
        } else if id == range.last {
            ranges[base + index].last = id - 1
        } else {
            split(at: index, around: id, symbol: symbol)
        }
        return true
    }

    /// A sequence reset: the old sequence's gaps can never be filled.
    mutating func closeAll(symbol: Int) {
        counts[symbol] = 0
    }

    /// `id` lies inside the gap at `index`: it becomes the part before `id`
    /// and, right after it, the part after (order by age is kept). With no
    /// room, the oldest ids are forgotten: the oldest gap, or the lower part
    /// of this one when it is the oldest.
    private mutating func split(at index: Int, around id: Int64, symbol: Int) {
        let base = symbol * Self.perSymbol
        var index = index
        if counts[symbol] == Self.perSymbol {
            if index == 0 {
                ranges[base].first = id + 1
                return
            }
            remove(at: 0, symbol: symbol)
            index -= 1
        }
        let upper = TradeIDRange(first: id + 1, last: ranges[base + index].last)
        ranges[base + index].last = id - 1
        var slot = counts[symbol]
        while slot > index + 1 {
            ranges[base + slot] = ranges[base + slot - 1]
            slot -= 1
        }
        ranges[base + index + 1] = upper
        counts[symbol] += 1
    }

    private mutating func remove(at index: Int, symbol: Int) {
        let base = symbol * Self.perSymbol
        for slot in index..<counts[symbol] - 1 { ranges[base + slot] = ranges[base + slot + 1] }
        counts[symbol] -= 1
    }
}
