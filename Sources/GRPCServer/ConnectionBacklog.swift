/// What one connection has waiting to go out, kept as running totals where
/// the streams' queues change: the per-trade path pays one addition, and
/// the --connection-hard-limit check does not have to walk the streams
/// unless the bound is crossed.
struct ConnectionBacklog {
    /// Bytes queued across all the connection's streams and not yet handed
    /// to nghttp2 (the sum of their OutboundQueue.pendingBytes).
    var queuedBytes = 0
}
