import MarketData

/// What the live feed must do after a transition of its machine. The machine
/// decides; LiveFeed does the I/O, in the order given, in one place (`apply`).
enum FeedAction: Equatable, Sendable {
    /// Start connection attempt `serial`; it reports back as opened or ended.
    case open(serial: UInt32)
    /// WebSocket close with code 1000; the connection is retiring until the
    /// server answers or the close timeout ends it.
    case close(serial: UInt32, reason: String)
    /// Tear the connection down now (close_notify if TLS is up, then the socket).
    case end(serial: UInt32, reason: String)
    /// Send our liveness ping.
    case ping(serial: UInt32)
    /// Call `retryDue` at this monotonic time.
    case scheduleRetry(atNanos: Int64)
    /// The candidate took over: publish what it held, each trade through the
    /// sequencer, which drops what current already delivered.
    case publishHeld([Trade])
    /// Count a finished rotation and report it; its duplicates are those the
    /// sequencer dropped since `duplicatesBefore`.
    case completeRotation(from: UInt32, to: UInt32, proven: Bool, duplicatesBefore: Int)
    /// Tell the observer (the server logs and counts it).
    case report(FeedEvent)
}

/// What happens to one trade from one connection (the per-trade decision,
/// which allocates nothing).
enum TradeVerdict: Equatable, Sendable {
    /// New: publish it.
    case publish
    /// New, but `missing` trades before it never arrived: publish it and report the gap.
    case publishAfterGap(missing: Int64, lastID: Int64)
    /// Older than the last delivered, but it fills an open gap: publish it (late, once).
    case publishLate
    /// The held suspect `outlierID` was an outlier (the old sequence went on):
    /// it is dropped; publish this trade, after a gap of `missing` when > 0.
    case publishAfterOutlier(outlierID: Int64, missing: Int64, lastID: Int64)
    /// The suspect began a new sequence: publish `suspect`, then this trade,
    /// and announce the reset from `previousID`.
    case publishAfterReset(suspect: Trade, previousID: Int64, missing: Int64)
    /// An implausible id next to `lastID`: held until the symbol's next trade.
    /// `droppedOutlierID`: the suspect held before it, now dropped.
    case suspect(lastID: Int64, droppedOutlierID: Int64?)
    /// Already delivered by an overlapping connection: drop it.
    case duplicate
    /// From a rotation candidate: held until it takes over.
    case held
    /// From a connection being closed: its trades come from the new one.
    case ignored
}
