/// The server's keepalive for one connection (--keepalive-time and
/// --keepalive-timeout): after `timeNanos` without hearing from the peer it
/// sends a PING; if nothing at all comes back within `timeoutNanos`, the
/// peer is gone and the connection is closed. As in grpc-go, any frame from
/// the peer proves it alive, not only the ACK. Driven by the hub's sweep with
/// the time passed in; the connection only reports that it heard something.
struct KeepaliveProbe {
    enum State: Equatable {
        /// Never probes (--keepalive-time off).
        case off
        /// The peer was last heard from at `heardAtNanos`.
        case listening(heardAtNanos: Int64)
        /// Our PING went out at `sentAtNanos`; waiting for any frame.
        case awaitingAnswer(sentAtNanos: Int64)
        /// The peer did not answer; the connection is closing.
        case expired
    }

    /// What the sweep should do for this connection.
    enum Action: Equatable {
        case none
        /// Submit the keepalive PING.
        case sendPing
        /// Close: nothing came back for `silentNanos` after the PING.
        case closeSilentPeer(silentNanos: Int64)
    }

    let timeNanos: Int64
    let timeoutNanos: Int64
    private(set) var state: State

    init(_ policy: KeepalivePolicy, openedAtNanos: Int64) {
        timeNanos = policy.timeNanos ?? .max
        timeoutNanos = policy.timeoutNanos
        state = policy.timeNanos == nil ? .off : .listening(heardAtNanos: openedAtNanos)
    }

    /// One sweep at `nowNanos`; `heard` says whether any bytes arrived since the last one.
    mutating func check(nowNanos: Int64, heard: Bool) -> Action {
        switch state {
        case .off, .expired:
            return .none
        case .listening where heard, .awaitingAnswer where heard:
            state = .listening(heardAtNanos: nowNanos)
            return .none
        case .listening(let heardAt):
            guard nowNanos - heardAt >= timeNanos else { return .none }
            state = .awaitingAnswer(sentAtNanos: nowNanos)
            return .sendPing
        case .awaitingAnswer(let sentAt):
            guard nowNanos - sentAt >= timeoutNanos else { return .none }
            state = .expired
            return .closeSilentPeer(silentNanos: nowNanos - sentAt)
        }
    }
}
