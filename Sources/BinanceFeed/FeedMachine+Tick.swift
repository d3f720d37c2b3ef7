/// The maintenance tick's rules: handshake timeouts, stale detection, our
/// pings, the age-based rotation, the overlap timeout, and retired
/// connections that never answered our close.
extension FeedMachine {
    /// Checks each connection that carries data. `lastFrameNanos` says when a
    /// connection last received a frame of any kind (BinanceConnection tracks
    /// it per frame, which is too often to report here).
    mutating func checkLiveness(nowNanos: Int64, lastFrameNanos: (UInt32) -> Int64) -> [FeedAction] {
        var actions: [FeedAction] = []
        switch phase {
        case .connecting(var attempt):
            check(&attempt, lastFrameNanos: lastFrameNanos(attempt.serial), nowNanos: nowNanos, into: &actions)
            phase = .connecting(attempt)
        case .streaming(var streaming):
            check(&streaming.connection, lastFrameNanos: lastFrameNanos(streaming.connection.serial),
                  nowNanos: nowNanos, into: &actions)
            phase = .streaming(streaming)
        case .rotating(var rotation):
            check(&rotation.current, lastFrameNanos: lastFrameNanos(rotation.current.serial), nowNanos: nowNanos,
                  into: &actions)
            check(&rotation.candidate, lastFrameNanos: lastFrameNanos(rotation.candidate.serial), nowNanos: nowNanos,
                  into: &actions)
            phase = .rotating(rotation)
        case .idle, .backoff, .closed:
            break
        }
        return actions
    }

    private mutating func check(_ connection: inout FeedConnection, lastFrameNanos: Int64, nowNanos: Int64,
                                into actions: inout [FeedAction]) {
        guard connection.isOpen else {
            let limit = settings.handshakeTimeoutNanos
            if nowNanos - connection.startedAtNanos >= limit {
                actions.append(.end(serial: connection.serial,
                                    reason: "no WebSocket after \(limit / 1_000_000) ms (connect, TLS and upgrade timed out)"))
            }
            return
        }
        if !connection.reachedStreaming, nowNanos - (connection.openedAtNanos ?? nowNanos) >= settings.streamingProofNanos {
            reachedStreaming(&connection)
        }
        let silent = nowNanos - lastFrameNanos
        if silent >= settings.staleTimeoutNanos {
            actions.append(.report(.stale(connection: connection.serial, silentMs: silent / 1_000_000)))
            actions.append(.end(serial: connection.serial, reason: "stale: no frame for \(silent / 1_000_000) ms"))
        } else if nowNanos - connection.lastPingNanos >= settings.pingIntervalNanos {
            connection.lastPingNanos = nowNanos
            actions.append(.ping(serial: connection.serial))
        }
    }

    /// The rules that depend on age rather than on frames. Runs after
    /// `checkLiveness`'s actions were applied, so it sees their outcome.
    mutating func maintain(nowNanos: Int64) -> [FeedAction] {
        var actions: [FeedAction] = []
        switch phase {
        case .streaming(let streaming):
            actions = streamingMatured(streaming, nowNanos: nowNanos)
        case .rotating(var rotation):
            if let opened = rotation.candidate.openedAtNanos {
                if nowNanos - opened >= settings.rotationOverlapTimeoutNanos {
                    rotation.overlapTimedOut()
                    phase = .rotating(rotation)
                }
            } else if nowNanos - rotation.candidate.startedAtNanos >= settings.handshakeTimeoutNanos {
                actions.append(.end(serial: rotation.candidate.serial, reason: "rotation candidate did not open in time"))
            }
        case .idle, .connecting, .backoff, .closed:
            break
        }
        let limit = settings.closeTimeoutNanos
        for connection in retiring where nowNanos - connection.closingSinceNanos >= limit {
            actions.append(.end(serial: connection.serial, reason: "no close reply within \(limit / 1_000_000) ms"))
        }
        return actions
    }

    /// An old connection (or a deferred rotation whose wait is over) starts a rotation.
    private mutating func streamingMatured(_ streaming: FeedPhase.Streaming, nowNanos: Int64) -> [FeedAction] {
        let age = nowNanos - (streaming.connection.openedAtNanos ?? nowNanos)
        guard let deferred = streaming.deferredRotation else {
            return age >= settings.maxConnectionAgeNanos ? startRotation(reason: .maxAge, nowNanos: nowNanos) : []
        }
        return nowNanos >= deferred.notBeforeNanos ? startRotation(reason: deferred.reason, nowNanos: nowNanos) : []
    }
}

extension FeedMachine {
    /// The connection delivered (a first trade, or it stayed up for the
    /// proof time): the attempts before it are no longer consecutive failures.
    mutating func reachedStreaming(_ connection: inout FeedConnection) {
        connection.reachedStreaming = true
        backoff.reset()
    }

    /// No silent cut-off: symbols whose every trade was dropped for a while,
    /// and those that deliver again. Once a tick.
    mutating func watchSymbols(nowNanos: Int64) -> [SymbolCutOffWatch.Change] {
        cutOffWatch.check(sequencer, nowNanos: nowNanos)
    }
}
