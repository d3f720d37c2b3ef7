/// Every transition of ConnectionPhase. Each takes one event and returns
/// what the hub must do; none does I/O.
extension ConnectionPhase {
    // MARK: The graceful double GOAWAY

    /// The server drains, or the connection reached its maximum age.
    mutating func drainRequested() -> Action {
        guard case .open = self else { return .none }  // a GOAWAY is already under way
        self = .draining(Draining(goAway: .noticeQueued))
        return .sendGoAwayNotice
    }

    /// nghttp2 wrote a GOAWAY without error: if it was our notice, its PING follows.
    mutating func goAwayNoticeWritten() -> Action {
        guard case .draining(var draining) = self, draining.failure == nil,
              draining.goAway == .noticeQueued else { return .none }
        draining.goAway = .noticeSent
        self = .draining(draining)
        return .sendDrainPing
    }

    /// The PING that followed the notice came back: the client has seen the notice.
    mutating func drainPingAcknowledged() -> Action {
        guard case .draining(let draining) = self, draining.goAway == .noticeSent else { return .none }
        return finalGoAwayRequested()
    }

    /// The server stops, the PING was never answered, or age grace ended:
    /// the last GOAWAY goes out, and nghttp2 ends the session with the last stream.
    mutating func finalGoAwayRequested() -> Action {
        switch self {
        case .open:
            self = .draining(Draining(goAway: .finalSent))
            return .sendFinalGoAway
        case .draining(var draining) where draining.goAway != .finalSent && draining.failure == nil:
            draining.goAway = .finalSent
            self = .draining(draining)
            return .sendFinalGoAway
        case .draining, .lingering, .closed:
            return .none
        }
    }

    // MARK: Failures

    /// Something failed inside nghttp2's callbacks, where the session must
    /// not be freed: the session is abandoned (no more input, no more
    /// GOAWAYs of ours), and the flush asked for here ends in the close.
    /// The first failure's reason is the one reported.
    mutating func sessionFailed(_ reason: String) -> Action {
        switch self {
        case .open:
            self = .draining(Draining(goAway: .finalSent, failure: reason))
            return .flush
        case .draining(var draining) where draining.failure == nil:
            draining.failure = reason
            self = .draining(draining)
            return .flush
        case .draining, .lingering, .closed:
            return .none
        }
    }

    /// The connection cannot go on: a read or write error, an HTTP/2 error
    /// nghttp2 returned to us, the poller refusing the descriptor.
    mutating func failed(_ reason: String) -> Action {
        assert(!isClosed, "a failure reported for a closed connection")
        return close(reason: lingeringReason ?? reason)
    }

    // MARK: Socket events

    /// A flush of the output ended. `lingerDeadlineNanos` is set while the
    /// server stops: a session that ended then lingers until that deadline.
    mutating func outputFlushed(_ result: FlushResult, lingerDeadlineNanos: Int64?) -> Action {
        assert(writesOutput, "output flushed in \(self)")
        if case .draining(let draining) = self, let failure = draining.failure {
            return close(reason: failure)
        }
        switch result {
        case .drained:
            return .stopWatchingWritable
        case .blocked:
            return .watchWritable
        case .sessionEnded:
            let reason = "HTTP/2 session ended"
            guard let deadline = lingerDeadlineNanos else { return close(reason: reason) }
            self = .lingering(Lingering(reason: reason, deadlineNanos: deadline))
            return .shutDownWriting
        case .failed(let reason):
            return close(reason: reason)
        }
    }

    /// The peer closed its side (EOF). While lingering, that is what we waited for.
    mutating func peerClosed(_ reason: String = "peer closed the connection") -> Action {
        assert(!isClosed, "EOF read on a closed connection")
        return close(reason: lingeringReason ?? reason)
    }

    /// The keepalive sweep's clock: a linger past its deadline ends now.
    mutating func lingerDeadlinePassed(nowNanos: Int64) -> Action {
        guard case .lingering(let lingering) = self, nowNanos >= lingering.deadlineNanos else { return .none }
        return close(reason: lingering.reason)
    }

    /// The owner closes the connection (the server stopped, write idle,
    /// keepalive timeout, age). A second request changes nothing.
    mutating func closeRequested(_ reason: String) -> Action {
        guard !isClosed else { return .none }
        return close(reason: reason)
    }

    /// The one way to `.closed`. A lingering connection sent its
    /// close_notify with the SHUT_WR already.
    private mutating func close(reason: String) -> Action {
        switch self {
        case .open, .draining:
            self = .closed
            return .close(reason: reason, notifyPeer: true)
        case .lingering:
            self = .closed
            return .close(reason: reason, notifyPeer: false)
        case .closed:
            return .none
        }
    }

    /// Why a lingering connection's session ended: what its close reports
    /// when the peer's EOF (or an error) ends the linger.
    private var lingeringReason: String? {
        if case .lingering(let lingering) = self { return lingering.reason }
        return nil
    }
}
