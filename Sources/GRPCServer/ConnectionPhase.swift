/// One HTTP/2 connection's life, decided in one place:
///
///     open → draining → lingering → closed
///
/// The machine does no I/O. Each transition returns the `Action` the hub
/// must apply (ConnectionHub.apply), so every way a connection ends goes
/// through the same teardown. Events raised inside nghttp2's callbacks never
/// return `.close`: the session must not be freed under its own feet, so a
/// failure there marks the drain as failed and the close comes out of the
/// flush that follows.
enum ConnectionPhase: Equatable {
    /// Serving streams; no GOAWAY yet.
    case open
    /// A GOAWAY is under way: the streams it admitted carry on until the session ends.
    case draining(Draining)
    /// The session ended while the server stops: our write side is shut, input is discarded until EOF or the deadline.
    case lingering(Lingering)
    /// Session freed, socket closed, slot released.
    case closed

    /// Which frame of the graceful double GOAWAY (PROTOCOL-HTTP2.md, "GOAWAY") is out.
    enum GoAwayStep: Equatable {
        /// GOAWAY(2^31-1) submitted. Its PING waits until the notice is on the
        /// wire: nghttp2 sends PINGs ahead of queued GOAWAYs, and the ACK of a
        /// PING that overtook the notice would prove nothing.
        case noticeQueued
        /// The notice went out, then a PING; waiting for the PING's ACK.
        case noticeSent
        /// GOAWAY(last processed stream id) submitted: nothing more to send.
        case finalSent
    }

    struct Draining: Equatable {
        var goAway: GoAwayStep
        /// Set when the session failed inside nghttp2 (or nghttp2 sent an
        /// error GOAWAY): the connection closes once the current flush is done.
        var failure: String? = nil
    }

    struct Lingering: Equatable {
        /// Why the session ended; reported when the socket closes.
        var reason: String
        /// The linger ends here even if the peer never closes.
        var deadlineNanos: Int64
    }

    /// What the hub does after a transition.
    enum Action: Equatable {
        /// Nothing changes.
        case none
        /// Submit the first GOAWAY (the notice) and flush.
        case sendGoAwayNotice
        /// The notice is on the wire: submit the PING whose ACK proves the client saw it.
        case sendDrainPing
        /// Submit the final GOAWAY with the last processed stream and flush.
        case sendFinalGoAway
        /// Output is waiting for the next flush.
        case flush
        /// The socket is full: wait for EPOLLOUT.
        case watchWritable
        /// Everything is on the socket: stop waiting for EPOLLOUT.
        case stopWatchingWritable
        /// TLS close_notify, SHUT_WR, stop waiting for EPOLLOUT; keep reading.
        case shutDownWriting
        /// Free the session and close the socket. `notifyPeer`: the write
        /// side is still open, so TLS sends its close_notify first.
        case close(reason: String, notifyPeer: Bool)
    }

    /// How one flush of the connection's output ended.
    enum FlushResult: Equatable {
        /// Everything the session had is on the socket.
        case drained
        /// The socket is full.
        case blocked
        /// The session has nothing more to read or write.
        case sessionEnded
        /// Writing failed.
        case failed(String)
    }

    /// The session is live and takes input: read the socket, sweep keepalive.
    var servesSession: Bool {
        switch self {
        case .open: return true
        case .draining(let draining): return draining.failure == nil
        case .lingering, .closed: return false
        }
    }

    /// Output may still go out (a failed drain flushes its error GOAWAY).
    var writesOutput: Bool {
        switch self {
        case .open, .draining: return true
        case .lingering, .closed: return false
        }
    }

    // Pattern matches, not ==: scheduleFlush asks on every queued message,
    // and a match reads only the case, never the payload's strings.
    var isOpen: Bool {
        if case .open = self { return true }
        return false
    }

    var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }

    var isLingering: Bool {
        if case .lingering = self { return true }
        return false
    }
}
