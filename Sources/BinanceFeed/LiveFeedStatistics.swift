/// Counters for the exit log and the metrics endpoint (read at scrape time).
public struct LiveFeedStatistics: Sendable {
    public var tradesPublished = 0
    public var gapTrades: Int64 = 0
    public var duplicatesDropped = 0
    /// Trades older than the last delivered that filled an open gap.
    public var lateTradesDelivered = 0
    public var skippedFrames = 0
    /// `skippedFrames` split by why (rare, so a dictionary is cheap enough).
    public var skippedFramesByReason: [FeedEvent.SkipReason: Int] = [:]
    /// WebSocket data messages received (text and binary), on every connection.
    public var messagesReceived = 0
    public var connectionsOpened = 0
    public var rotations = 0
}
