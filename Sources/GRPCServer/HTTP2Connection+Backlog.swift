import GRPCWire

/// The connection-wide bound on queued bytes (--connection-hard-limit). Each
/// stream is bounded by --stream-hard-limit, but one connection may carry up
/// to --max-concurrent-streams of them; this caps their sum.
extension HTTP2Connection {
    var isOverBacklogLimit: Bool { backlog.queuedBytes > limits.maxConnectionBacklogBytes }

    /// Ends the open streams with the largest backlogs, one by one, until the
    /// connection is back under its limit. Each goes the way of a slow
    /// stream (GRPCStream.abandon): its unsent messages are dropped and its
    /// trailers carry RESOURCE_EXHAUSTED. Walks the streams only when over.
    func trimBacklog(_ ended: (GRPCStream) -> Void) {
        let limit = limits.maxConnectionBacklogBytes
        while backlog.queuedBytes > limit {
            // Streams already finishing cannot be abandoned; their queues drain or
            // the write-idle sweep closes the connection.
            guard let largest = largestOpenBacklog(), largest.backlogBytes > 0 else { return }
            largest.abandon(GRPCStatus(.resourceExhausted, "client too slow: connection over \(limit) bytes queued"))
            ended(largest)
        }
    }

    private func largestOpenBacklog() -> GRPCStream? {
        var largest: GRPCStream?
        for stream in streams.values where stream.isOpen && stream.backlogBytes > (largest?.backlogBytes ?? 0) {
            largest = stream
        }
        return largest
    }
}
