/// Judges each PING a client sends, exactly as grpc-go's server does
/// (http2_server.go, handlePing): a PING that comes sooner than the policy
/// allows is a strike, and the third strike gets GOAWAY(ENHANCE_YOUR_CALM,
/// "too_many_pings"). A value type with the clock passed in, so it is tested
/// without sockets.
///
/// Sending HEADERS or DATA forgives everything: the next PING is then
/// allowed whatever its timing, and the strikes start again. That is why the
/// flow-control (BDP) pings grpcio and grpc-go send while prices flow never
/// count: each follows DATA from us.
struct PingStrikePolicy {
    /// More strikes than this and the connection is cut (grpc-go's maxPingStrikes).
    static let maxStrikes = 2
    /// With no call open and `permitWithoutCalls` off, a client may PING only
    /// this often (grpc-go's defaultPingTimeout): keepalive should be off then.
    static let intervalWithoutCallsNanos: Int64 = 2 * 3600 * 1_000_000_000

    /// What one PING earned.
    enum Verdict: Equatable {
        /// Within the policy (or forgiven by our HEADERS/DATA).
        case allowed
        /// Too soon: this is strike number `n`.
        case strike(Int)
        /// Over the limit: send GOAWAY and close. Returned once.
        case tooManyPings
        /// The connection is already being cut; nothing more to judge.
        case ignored
    }

    // The Bools come last, where they pack into the optional's padding
    // (this lives in every connection).
    let minIntervalNanos: Int64
    private(set) var strikes = 0
    /// When the previous PING arrived, counted or not; nil before the first
    /// (which is therefore always allowed, as Go's zero time makes it).
    private(set) var lastPingAtNanos: Int64?
    let permitWithoutCalls: Bool
    /// We sent HEADERS or DATA since the last PING (grpc-go's resetPingStrikes).
    private(set) var responseSentSincePing = false
    private(set) var struckOut = false

    init(minIntervalNanos: Int64, permitWithoutCalls: Bool) {
        self.minIntervalNanos = minIntervalNanos
        self.permitWithoutCalls = permitWithoutCalls
    }

    init(_ policy: KeepalivePolicy) {
        self.init(minIntervalNanos: policy.minPingIntervalNanos, permitWithoutCalls: policy.permitWithoutCalls)
    }

    /// We put a HEADERS or DATA frame on the wire.
    mutating func headersOrDataSent() {
        responseSentSincePing = true
    }

    /// A PING (not an ACK) arrived at `nowNanos` while `activeCalls` streams were open.
    mutating func pingReceived(atNanos nowNanos: Int64, activeCalls: Int) -> Verdict {
        guard !struckOut else { return .ignored }
        let previous = lastPingAtNanos
        lastPingAtNanos = nowNanos
        if responseSentSincePing {
            responseSentSincePing = false
            strikes = 0
            return .allowed
        }
        let interval = activeCalls == 0 && !permitWithoutCalls ? Self.intervalWithoutCallsNanos : minIntervalNanos
        guard let previous, nowNanos - previous < interval else { return .allowed }
        strikes += 1
        guard strikes > Self.maxStrikes else { return .strike(strikes) }
        struckOut = true
        return .tooManyPings
    }
}
