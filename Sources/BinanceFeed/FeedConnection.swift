/// What the feed's machine knows of one connection: its serial and the times
/// its rules need. The connection itself (socket, TLS, WebSocket) stays with
/// the driver, which finds it by serial; so the machine runs without sockets.
struct FeedConnection: Equatable, Sendable {
    /// Numbers the connection in logs and in the machine's actions.
    let serial: UInt32
    /// When the attempt began: the handshake timeout runs from here.
    let startedAtNanos: Int64
    /// When the WebSocket upgrade succeeded; nil while the attempt is under way.
    var openedAtNanos: Int64?
    /// Our last liveness ping; 0 means none yet, so the first tick after the
    /// upgrade pings at once.
    var lastPingNanos: Int64 = 0
    /// It delivered a trade, or stayed open for `streamingProofNanos`: its
    /// end is an ending (reconnect at once), not a failure (back off).
    var reachedStreaming = false

    init(serial: UInt32, startedAtNanos: Int64) {
        self.serial = serial
        self.startedAtNanos = startedAtNanos
    }

    var isOpen: Bool { openedAtNanos != nil }
}

/// A connection we asked to close (after a rotation, or at shutdown). It
/// carries no data any more; the close timeout ends it if the server never
/// answers our close frame.
struct RetiringConnection: Equatable, Sendable {
    let serial: UInt32
    let closingSinceNanos: Int64
}
