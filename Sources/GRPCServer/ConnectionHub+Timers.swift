import Reactor

/// The hub's own timers. Three periodic sweeps serve every connection, so the
/// reactor's heap holds three entries however many connections are open.
enum HubTimer: UInt8 {
    /// Keepalive probes, connection age and lingering deadlines (ConnectionHub+Keepalive).
    case keepaliveSweep = 1
    /// Connections that stopped taking output (ConnectionHub+WriteIdle).
    case writeIdleSweep = 2
    /// Connections past --handshake-timeout (ConnectionHub+Handshake).
    case handshakeSweep = 3

    var token: TimerToken { TimerToken(owner: .connections, purpose: rawValue) }
}

extension ConnectionHub {
    /// A timer of owner `.connections` expired.
    public func timerFired(_ token: TimerToken) {
        switch HubTimer(rawValue: token.purpose) {
        case .keepaliveSweep: keepaliveSweepDue()
        case .writeIdleSweep: writeIdleSweepDue()
        case .handshakeSweep: handshakeSweepDue()
        case nil: assertionFailure("not a connection hub timer: \(token)")
        }
    }
}
