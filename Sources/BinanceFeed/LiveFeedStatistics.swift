/// Counters for the exit log and, later, metrics.
public struct LiveFeedStatistics: Sendable {
    public var tradesPublished = 0
    public var gapTrades: Int64 = 0
    public var duplicatesDropped = 0
    public var skippedFrames = 0
    public var connectionsOpened = 0
    public var rotations = 0
}
