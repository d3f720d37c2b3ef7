import GRPCServer
import Reactor

/// The server's side of ShutdownPhase: what each transition does to health,
/// the listener, the connections and the streams.
extension TickwireServer {

    func apply(_ action: ShutdownPhase.Action) {
        switch action {
        case .beginDraining(let deadline):
            beginDraining(deadline: deadline)
        case .beginStopping(let deadline):
            beginStopping(deadline: deadline)
        case .finish:
            liveFeed?.terminate()
            metrics?.close()
            let open = hub.connectionCount
            hub.closeAll(reason: "server stopped")
            let elapsedMs = (reactor.clock.monotonicNanos() - drain.signalMonotonicNanos) / 1_000_000
            logger.notice("stopped serving", metadata: [
                "connections_force_closed": "\(open)", "ms_since_signal": "\(elapsedMs)",
            ])
        case .none:
            break
        }
    }

    /// Phase 1 and the start of phase 2: stop taking new work, tell every
    /// stream when it will end, and keep the prices flowing meanwhile.
    private func beginDraining(deadline: Int64) {
        drain.signalMonotonicNanos = reactor.clock.monotonicNanos()
        drain.signalWallMs = reactor.clock.wallUnixNanos() / 1_000_000
        drain.messagesQueuedAtStart = distributor.messagesQueued
        health.setStatus(.notServing)
        hub.stopAccepting()
        hub.startGracefulGoAway()
        reactor.schedule(afterNanos: configuration.goAwayPingTimeoutNanos, ServerTimer.goAwayFallback.token)
        reactor.schedule(atNanos: deadline, ServerTimer.drainDeadline.token)

        let drainMs = configuration.drainNanos / 1_000_000
        let notice = ShutdownNotices.notice(deadlineUnixMs: drain.signalWallMs + drainMs,
                                            reason: "server is shutting down; streams end in \(drainMs) ms")
        distributor.sendToAll(notice)
        drain.streamsNotified = distributor.registry.count
        logger.notice("draining", metadata: [
            "streams_notified": "\(drain.streamsNotified)", "connections": "\(hub.connectionCount)",
            "drain_ms": "\(drainMs)", "deadline_unix_ms": "\(drain.signalWallMs + drainMs)",
        ])
    }

    /// Phase 3: end what is left with UNAVAILABLE and flush, briefly.
    private func beginStopping(deadline: Int64) {
        // The final batch goes to every stream, slow ones included: each ends
        // next, so there is no later batch to carry what it would defer.
        distributor.emitIndicatorBatches(final: true)
        let remaining = distributor.registry.count
        distributor.finishAll(ShutdownNotices.unavailable)
        liveFeed?.close()  // WebSocket close 1000, then TLS close_notify
        health.finishWatchers(ShutdownNotices.unavailable)
        hub.stopAccepting()
        hub.sendFinalGoAway()
        hub.lingerDeadlineNanos = deadline
        reactor.schedule(atNanos: deadline, ServerTimer.stopDeadline.token)
        logger.notice("stopping", metadata: [
            "streams_notified": "\(drain.streamsNotified)",
            "streams_ended_by_clients": "\(drain.streamsEndedByClients)",
            "streams_force_closed": "\(remaining)",
            "messages_flushed_during_drain": "\(distributor.messagesQueued - drain.messagesQueuedAtStart)",
        ])
    }

    /// The drain is over early once no StreamPrices stream is left.
    func checkDrainComplete() {
        guard reactor.phase.isDraining, distributor.registry.count == 0 else { return }
        apply(reactor.phase.drainEnded(nowNanos: reactor.clock.monotonicNanos(), budget: configuration.shutdownBudget))
    }

    /// Every stream has been told, and every byte has left our buffers.
    /// Stopping is complete once every client has closed its connection:
    /// each got its trailers and the final GOAWAY, and the hub lingers (half
    /// close, read to EOF) rather than close under a client still writing,
    /// whose TCP reset could destroy trailers it had not yet read.
    var stopFlushComplete: Bool {
        hub.connectionCount == 0 && liveFeed?.hasOpenConnections != true
    }

}
