import Reactor

/// Connections that have not finished their handshake (HandshakeDeadline):
/// one sweep timer serves all of them, armed only while one exists, so the
/// reactor's heap holds one entry however many clients are connecting. It is
/// its own timer rather than the keepalive sweep's: that one may be off
/// (keepalive disabled) or run at a pace set for minutes, not seconds.
extension ConnectionHub {
    var handshakeDeadline: HandshakeDeadline { HandshakeDeadline(timeoutNanos: limits.handshakeTimeoutNanos) }

    /// Schedules the next handshake sweep unless one is pending.
    func armHandshakeSweep() {
        guard handshakeTimer == nil else { return }
        handshakeTimer = reactor.schedule(afterNanos: handshakeDeadline.sweepIntervalNanos, HubTimer.handshakeSweep.token)
    }

    /// Closes every connection whose handshake outlived --handshake-timeout,
    /// and comes back while any handshake is still under way.
    func handshakeSweepDue() {
        handshakeTimer = nil
        let now = monotonicNanos
        var unfinished = false
        forEachConnection { connection in
            guard connection.phase.servesSession, !connection.handshakeFinished else { return }
            if handshakeDeadline.isOverdue(openedAtNanos: connection.openedAtNanos, nowNanos: now) {
                closeUnfinished(connection, reason: "handshake too slow", nowNanos: now)
            } else {
                unfinished = true
            }
        }
        if unfinished { armHandshakeSweep() }
    }

    /// Every slot is taken: closes the oldest connection still in its
    /// handshake so that a new client gets its slot. False when there is
    /// none to close (the new connection is refused).
    func reclaimUnfinishedSlot() -> Bool {
        let candidates = (0..<slots.capacity).lazy.compactMap { index -> (openedAtNanos: Int64, slot: Int)? in
            guard let connection = self.slots.occupant(atSlot: index), connection.phase.servesSession,
                  !connection.handshakeFinished else { return nil }
            return (connection.openedAtNanos, index)
        }
        guard let oldest = HandshakeDeadline.oldestUnfinished(candidates, acceptedBeforeNanos: acceptBatchStartNanos),
              let connection = slots.occupant(atSlot: oldest.slot) else { return false }
        closeUnfinished(connection, reason: "handshake unfinished; its slot went to a new connection", nowNanos: monotonicNanos)
        return !slots.isFull
    }

    private func closeUnfinished(_ connection: HTTP2Connection, reason: String, nowNanos: Int64) {
        handshakeClosed += 1
        log(.warning, "\(reason); closing the connection", [
            "slot": "\(connection.token.slot)", "peer": connection.peer,
            "stage": connection.transportReady ? "http2 preface" : "tls",
            "waited_ms": "\((nowNanos - connection.openedAtNanos) / 1_000_000)",
        ])
        apply(connection.phase.closeRequested(reason), to: connection)
    }
}
