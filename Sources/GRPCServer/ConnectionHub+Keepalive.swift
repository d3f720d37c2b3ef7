import Reactor

/// One periodic sweep over every connection drives the keepalive probes and
/// the connection age limit (KeepalivePolicy): a timer per connection would
/// put thousands of entries in the reactor's heap for deadlines that almost
/// always move. The timer runs only while connections are open.
extension ConnectionHub {
    /// The sweep timer fired: check every open connection, close the ones
    /// that are done (lingering ones past their deadline too), and come back
    /// in one interval.
    func keepaliveSweepDue() {
        sweepTimer = nil
        let now = monotonicNanos
        forEachConnection { connection in
            apply(connection.phase.lingerDeadlinePassed(nowNanos: now), to: connection)
            connection.sweep(nowNanos: now)
        }
        armSweep()
    }

    /// Schedules the next sweep unless one is pending, nothing is open, or
    /// the policy needs none.
    func armSweep() {
        guard sweepTimer == nil, connectionCount > 0, let interval = limits.keepalive.sweepIntervalNanos else { return }
        sweepTimer = reactor.schedule(afterNanos: interval, HubTimer.keepaliveSweep.token)
    }
}
