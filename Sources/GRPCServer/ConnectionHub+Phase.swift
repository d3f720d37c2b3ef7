import Reactor

/// Where ConnectionPhase's decisions take effect: `apply` is the only code
/// that acts on a transition, and `teardown` the only way a connection ends.
extension ConnectionHub {
    /// Carries out what a transition of `connection.phase` returned.
    func apply(_ action: ConnectionPhase.Action, to connection: HTTP2Connection) {
        switch action {
        case .none:
            break
        case .sendGoAwayNotice:
            connection.submitGoAwayNotice()
            scheduleFlush(connection)
        case .sendDrainPing:
            // Called while nghttp2 writes the notice: the PING joins that flush.
            connection.submitDrainPing()
        case .sendFinalGoAway:
            connection.submitFinalGoAway()
            scheduleFlush(connection)
        case .flush:
            scheduleFlush(connection)
        case .watchWritable:
            setWritableInterest(connection, true)
        case .stopWatchingWritable:
            setWritableInterest(connection, false)
        case .shutDownWriting:
            connection.tls?.shutdown()  // close_notify before the FIN
            HalfClose.shutDownWriting(fd: connection.fd)
            setWritableInterest(connection, false)
        case .close(let reason, let notifyPeer):
            teardown(connection, reason: reason, notifyPeer: notifyPeer)
        }
    }

    /// Adds or drops EPOLLOUT, when it changes.
    func setWritableInterest(_ connection: HTTP2Connection, _ watch: Bool) {
        guard connection.watchingWritable != watch else { return }
        connection.watchingWritable = watch
        do {
            try reactor.modify(fd: connection.fd, token: connection.token, interest: watch ? [.read, .write] : .read)
        } catch {
            apply(connection.phase.failed("epoll_ctl: \(error)"), to: connection)
        }
    }

    /// Frees the session, closes the socket and releases the slot.
    private func teardown(_ connection: HTTP2Connection, reason: String, notifyPeer: Bool) {
        precondition(connection.phase.isClosed, "teardown of a connection in \(connection.phase)")
        if closesDeferred {
            deferredCloses.append((connection, reason, notifyPeer))
            return
        }
        if notifyPeer { connection.tls?.shutdown() }
        connection.releaseSession()
        try? reactor.unregister(fd: connection.fd)
        closeDescriptor(connection.fd)
        releaseSlot(connection.token)
        delegate.connectionClosed(connection, reason: reason)
    }

    /// Runs `body` with closes held back, then closes what it closed. The
    /// io_uring send batch needs this: a slot must not be reused while the
    /// batch still refers to its connection.
    func deferringCloses(_ body: () -> Void) {
        precondition(!closesDeferred, "nested deferringCloses")
        closesDeferred = true
        body()
        closesDeferred = false
        for (connection, reason, notifyPeer) in deferredCloses {
            teardown(connection, reason: reason, notifyPeer: notifyPeer)
        }
        deferredCloses.removeAll(keepingCapacity: true)
    }
}
