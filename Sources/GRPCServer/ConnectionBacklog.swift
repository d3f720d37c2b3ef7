/// What one connection has waiting to go out, kept as running totals where
/// the streams' queues change: the per-trade path pays one addition, and
/// neither the --connection-hard-limit check nor the write-idle sweep has
/// to walk the streams unless a bound is crossed.
struct ConnectionBacklog {
    /// Bytes queued across all the connection's streams and not yet handed
    /// to nghttp2 (the sum of their OutboundQueue.pendingBytes). Every change
    /// is carried into the server's total, so --max-queued-bytes is one
    /// comparison per iteration rather than a walk over the connections.
    /// Changed only through `queued(_:)`: a didSet here cost ~25 instructions
    /// per delivered message (callgrind), twice what the two additions do.
    private(set) var queuedBytes = 0

    /// `bytes` joined (positive) or left (negative) the streams' queues.
    @inline(__always)
    mutating func queued(_ bytes: Int) {
        queuedBytes &+= bytes
        serverQueuedBytes?.pointee &+= bytes
    }
    /// The hub's total of every connection's queuedBytes
    /// (ConnectionHub.serverQueuedBytes); nil only in tests of this type.
    /// A pointer rather than a reference so the per-message update carries no
    /// exclusivity check: safe because the hub allocates it before any
    /// connection and frees it after the last one is gone.
    var serverQueuedBytes: UnsafeMutablePointer<Int>?
    /// Streams whose trailers wait behind their data (phase `.finishing`):
    /// output is owed even when no bytes are queued.
    var finishingStreams = 0
    /// Stream bytes handed to nghttp2 since the connection opened. Moves only
    /// when the peer's flow-control windows let data out.
    var dataBytesSent: UInt64 = 0
    /// Bytes the socket (or TLS) accepted since the connection opened.
    var socketBytesWritten: UInt64 = 0

    /// Streams have something to send.
    var streamsWaiting: Bool { queuedBytes > 0 || finishingStreams > 0 }
}
