import MarketData

/// The candles of one (symbol, interval): the forming one and a bounded
/// history of closed ones, built from the symbol's trades in tape order.
///
/// A trade costs O(1) and allocates nothing. The candle closes when either
/// a trade stamped at or after its end arrives (Binance stamps a symbol's
/// trades in order, so none earlier can follow), or the clock passes its end
/// plus the grace (`closeDue`). Intervals with no trades close as flat,
/// empty candles at the previous close, as Binance's klines show them.
public struct CandleSeries {
    public let interval: CandleInterval
    // Internal setters: `seed` (in its own file) rewrites these.
    /// The forming candle (possibly empty, flat at the previous close), once
    /// `hasForming`: before the first trade there is no previous close to
    /// make one from. Not an enum with the candle as its payload: a trade
    /// updates the forming candle of all 13 intervals of its symbol, and a
    /// payload is copied out and back at each update (issue 22: ~40
    /// instructions per delivered message at 10 streams).
    var formingCandle: Candle
    var hasForming = false
    var closed: CandleRing
    /// Candles closed since startup; a subscriber remembers the count it last sent.
    public private(set) var closedCount: Int64 = 0
    /// Trades stamped before the forming candle's open (they arrived after their
    /// candle closed): left out of every candle, and counted.
    public private(set) var lateTrades: Int64 = 0
    /// The open time of the first candle this series saw from its start: a
    /// candle opened earlier (the one the first trade fell in) may lack trades
    /// from before startup. Nil until the first trade.
    public internal(set) var firstWholeOpenMs: Int64?

    public init(interval: CandleInterval, historyCapacity: Int) {
        self.interval = interval
        formingCandle = .empty(openTimeMs: 0, interval: interval, previousClose: 0)
        closed = CandleRing(capacity: historyCapacity)
    }

    /// The forming candle, nil before the first trade.
    public var forming: Candle? { hasForming ? formingCandle : nil }

    /// When the forming candle closes (its last millisecond), without copying it.
    public var formingCloseTimeMs: Int64? { hasForming ? formingCandle.closeTimeMs : nil }

    /// The newest closed candle.
    public var lastClosed: Candle? { closed.newest }

    /// The closed candle `back` places before the newest (0 is the newest).
    public func closedCandle(back: Int) -> Candle { closed.candle(back: back) }

    public var closedHeld: Int { closed.count }
    public var historyCapacity: Int { closed.capacity }

    /// The closed candles held, oldest first (allocates: cold paths and tests).
    public var closedCandles: [Candle] { closed.all }

    /// Closes the forming candle if `timeMs` is past its last millisecond.
    /// Returns the candle just closed; call it in a loop, since a long silence
    /// closes one empty candle per interval that passed.
    public mutating func closeForming(ifEndedBy timeMs: Int64) -> Candle? {
        guard hasForming, timeMs > formingCandle.closeTimeMs else { return nil }
        var candle = formingCandle
        candle.isClosed = true
        closed.append(candle)
        closedCount += 1
        formingCandle = .empty(openTimeMs: candle.closeTimeMs + 1, interval: interval, previousClose: candle.close)
        return candle
    }

    /// Moves an empty forming candle straight to the interval holding `timeMs`,
    /// without closing the empty candles between (the book's bound on one
    /// catch-up; see `CandleBook.maxCatchUpCloses`). Returns how many were skipped.
    public mutating func skipEmpty(toContaining timeMs: Int64) -> Int64 {
        guard hasForming, formingCandle.tradeCount == 0, timeMs > formingCandle.closeTimeMs else { return 0 }
        let open = interval.openTime(containing: timeMs)
        let skipped = (open - formingCandle.openTimeMs) / interval.durationMs
        formingCandle = .empty(openTimeMs: open, interval: interval, previousClose: formingCandle.close)
        return skipped
    }

    /// Folds a trade into the forming candle. The caller has closed every
    /// candle that ended before the trade's time (`closeForming(ifEndedBy:)`).
    public mutating func apply(_ trade: Trade) {
        if hasForming {
            assert(trade.tradeTimeMs <= formingCandle.closeTimeMs, "close the ended candle first")
            guard trade.tradeTimeMs >= formingCandle.openTimeMs else {
                lateTrades += 1
                return
            }
        } else {
            let open = interval.openTime(containing: trade.tradeTimeMs)
            firstWholeOpenMs = open + interval.durationMs
            formingCandle = .empty(openTimeMs: open, interval: interval, previousClose: trade.price)
            hasForming = true
        }
        formingCandle.apply(price: trade.price, quantity: trade.quantity, tradeId: trade.tradeID,
                            isBuyerMaker: trade.isBuyerMaker)
    }

    /// When the forming candle is due to close on the clock: its end plus `graceMs`.
    public func closeDeadline(graceMs: Int64) -> Int64? {
        formingCloseTimeMs.map { $0 + 1 + graceMs }
    }
}
