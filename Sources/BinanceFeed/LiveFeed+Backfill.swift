import MarketData

/// Receives the backfill's events (the server, which logs them). Separate
/// from FeedEventObserver so an observer without backfill needs nothing new.
public protocol BackfillEventObserver: AnyObject {
    func backfillEvent(_ event: BackfillEvent)
}

/// The backfill's results join the tape here, in order with the live trades.
extension LiveFeed: BackfillOutput {
    func backfillDeliver(_ trade: Trade) {
        if !trade.isBackfilled { statistics.tradesPublished += 1 }  // backfilled ones: backfillStatistics
        enqueue(trade)
    }

    /// The trades queued so far go first, so every client sees the notice
    /// exactly between the trades before the gap and those after it.
    func backfillAnnounce(_ gap: TradeGap) {
        sink.publish(due: &due)
        sink.announce(gap)
    }

    func backfillEvent(_ event: BackfillEvent) {
        (observer as? BackfillEventObserver)?.backfillEvent(event)
    }

    /// True while the symbol's live trades are held for a backfill: its tape
    /// is not yet complete up to now, so its candles must not close on the
    /// clock (the held and fetched trades will close them in order).
    public func isHoldingTrades(of symbolIndex: Int) -> Bool {
        backfill?.isHolding(symbolIndex) ?? false
    }

    /// The backfill's counters; nil when backfill is off.
    public var backfillStatistics: BackfillStatistics? { backfill?.machine.statistics }
}
