import Reactor

/// The hub's own timers. Two periodic sweeps serve every connection, so the
/// reactor's heap holds two entries however many connections are open.
enum HubTimer: UInt8 {
    /// Keepalive probes, connection age and lingering deadlines (ConnectionHub+Keepalive).
    case keepaliveSweep = 1
    /// Connections that stopped taking output (ConnectionHub+WriteIdle).
    case writeIdleSweep = 2

    var token: TimerToken { TimerToken(owner: .connections, purpose: rawValue) }
}

extension ConnectionHub {
    /// A timer of owner `.connections` expired.
    public func timerFired(_ token: TimerToken) {
        switch HubTimer(rawValue: token.purpose) {
        case .keepaliveSweep: keepaliveSweepDue()
        case .writeIdleSweep: writeIdleSweepDue()
        case nil: assertionFailure("not a connection hub timer: \(token)")
        }
    }
}
