/// Every symbol's most recent bars (trades, or candle closes), in one
/// allocation made at startup.
///
/// Each symbol owns a ring of `capacity` bars; once it is full, a new bar
/// overwrites the oldest. It also keeps each symbol's UTC-day volume sums for
/// VWAP (`AnchoredVolume`). The ring serves two purposes: the SMA reads the price
/// leaving its window from it, and a newly created indicator state warms from
/// it at once instead of waiting for fresh trades. Its capacity therefore bounds
/// the longest period a client may ask for.
struct PriceHistory: ~Copyable {
    /// Where one symbol's ring stands, and the trade that wrote its newest price.
    ///
    /// Internal rather than private only to dodge a Swift 6.3 compiler crash
    /// ("Global is external, but doesn't have external or weak linkage") when a
    /// client module is built with `-c release -enable-testing`: cross-module
    /// optimisation then references this type's metadata from the client.
    struct Cursor {
        /// Ring position (relative to the symbol's first element) the next price goes to.
        var nextPosition = 0
        /// Prices held, at most `capacity`.
        var count = 0
        var newestTradeId: Int64 = 0
        var newestTradeTimeMs: Int64 = 0
        /// Σ price × qty and Σ qty of the bars since 00:00 UTC.
        var day = AnchoredVolume()
    }

    let symbolCount: Int
    let capacity: Int
    /// Symbol `s`'s ring is `bars[s * capacity ..< (s + 1) * capacity]`.
    private var bars: FixedArray<Bar>
    private var cursors: FixedArray<Cursor>

    init(symbolCount: Int, capacity: Int) {
        precondition(symbolCount > 0, "at least one symbol")
        precondition(capacity > 0, "a history holds at least one price")
        let (total, overflow) = symbolCount.multipliedReportingOverflow(by: capacity)
        precondition(!overflow, "history size overflows")
        self.symbolCount = symbolCount
        self.capacity = capacity
        bars = FixedArray(repeating: .empty, count: total)
        cursors = FixedArray(repeating: Cursor(), count: symbolCount)
    }

    func contains(symbol: Int) -> Bool {
        UInt(bitPattern: symbol) < UInt(symbolCount)
    }

    func count(of symbol: Int) -> Int {
        cursors[symbol].count
    }

    /// The trade that wrote the newest price; zeros before the first trade.
    func newestTrade(of symbol: Int) -> (tradeId: Int64, tradeTimeMs: Int64) {
        let cursor = cursors[symbol]
        return (cursor.newestTradeId, cursor.newestTradeTimeMs)
    }

    /// The bar `back` places before the newest one: `back == 0` is the newest.
    func bar(of symbol: Int, back: Int) -> Bar {
        let cursor = cursors[symbol]
        assert(back >= 0 && back < cursor.count, "asked for a bar the ring does not hold")
        var position = cursor.nextPosition - 1 - back
        if position < 0 { position += capacity }
        return bars[symbol * capacity + position]
    }

    /// The `index`-th bar held, counting from the oldest (`index == 0`).
    func bar(of symbol: Int, fromOldest index: Int) -> Bar {
        bar(of: symbol, back: count(of: symbol) - 1 - index)
    }

    /// The close (a trade's price) `back` places before the newest one.
    func price(of symbol: Int, back: Int) -> Double {
        bar(of: symbol, back: back).close
    }

    /// The `index`-th close held, counting from the oldest (`index == 0`).
    func price(of symbol: Int, fromOldest index: Int) -> Double {
        bar(of: symbol, fromOldest: index).close
    }

    /// The symbol's volume sums since 00:00 UTC of its newest bar.
    func day(of symbol: Int) -> AnchoredVolume {
        cursors[symbol].day
    }

    /// Forgets every price of `symbol` (its past is about to be rewritten).
    mutating func clear(symbol: Int) {
        cursors[symbol] = Cursor()
    }

    mutating func append(_ bar: Bar, of symbol: Int, tradeId: Int64, tradeTimeMs: Int64) {
        var cursor = cursors[symbol]
        bars[symbol * capacity + cursor.nextPosition] = bar
        cursor.day = cursor.day.adding(bar)
        cursor.nextPosition = cursor.nextPosition + 1 == capacity ? 0 : cursor.nextPosition + 1
        cursor.count = min(cursor.count + 1, capacity)
        cursor.newestTradeId = tradeId
        cursor.newestTradeTimeMs = tradeTimeMs
        cursors[symbol] = cursor
    }
}
