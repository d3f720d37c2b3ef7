/// Ingest times of the trades queued on at least one stream since the last
/// flush pass. The flush hook turns each into one latency observation (ingest
/// to end of the flush that wrote it), so a trade counts once however many
/// streams carry it. Plain storage reserved at startup: recording is an
/// append, and the registry is touched once per flush, not per trade.
public struct IngestTimeLog {
    /// 0 when metrics are off: nothing is kept.
    public let capacity: Int
    private(set) var pending: [Int64] = []
    /// Trades not observed because the log was full (a flush pass fell far behind).
    public private(set) var dropped = 0

    public init(capacity: Int) {
        self.capacity = capacity
        pending.reserveCapacity(capacity)
    }

    @inline(__always)
    public mutating func record(_ ingestUnixNanos: Int64) {
        guard pending.count < capacity else {
            if capacity > 0 { dropped += 1 }
            return
        }
        pending.append(ingestUnixNanos)
    }

    public var isEmpty: Bool { pending.isEmpty }

    /// Hands every pending time to `body` and forgets them.
    public mutating func drain(_ body: (Int64) -> Void) {
        for nanos in pending { body(nanos) }
        pending.removeAll(keepingCapacity: true)
    }
}
