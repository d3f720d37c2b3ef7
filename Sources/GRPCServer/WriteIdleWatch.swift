/// The write-idle sweep's memory of one connection: the progress counters
/// as the previous sweep read them, and since when nothing has moved.
struct WriteIdleWatch {
    private var seenDataBytes: UInt64 = 0
    private var seenSocketBytes: UInt64 = 0
    /// First sweep that found output waiting and no progress; nil otherwise.
    private var stalledSinceNanos: Int64?

    /// How long the connection has had output waiting without sending any
    /// of it, as far as the sweeps can tell (0 when it is not stalled).
    /// `outputWaiting`: bytes sit in our output buffer (the socket is full).
    mutating func observe(_ backlog: ConnectionBacklog, outputWaiting: Bool, nowNanos: Int64) -> Int64 {
        let dataMoved = backlog.dataBytesSent != seenDataBytes
        let socketMoved = backlog.socketBytesWritten != seenSocketBytes
        seenDataBytes = backlog.dataBytesSent
        seenSocketBytes = backlog.socketBytesWritten
        guard backlog.streamsWaiting || outputWaiting else {
            stalledSinceNanos = nil
            return 0
        }
        // While streams wait, only their data counts: a peer that keeps its
        // windows shut but answers PINGs (so the socket moves) is stalled.
        let progressed = backlog.streamsWaiting ? dataMoved : socketMoved
        guard !progressed, let since = stalledSinceNanos else {
            stalledSinceNanos = nowNanos
            return 0
        }
        return nowNanos - since
    }
}
