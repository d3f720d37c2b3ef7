import MarketData

/// Rotation, make before break: the candidate comes up while current still
/// streams, the switch waits until their trades are shown to overlap, and
/// only then is current closed.
extension FeedMachine {
    /// Binance's maintenance notice arrived on `serial`.
    mutating func serverShutdownNotice(serial: UInt32, eventTimeMs: Int64, nowNanos: Int64) -> [FeedAction] {
        let notice = FeedAction.report(.serverShutdownNotice(connection: serial, eventTimeMs: eventTimeMs))
        guard case .streaming(let streaming) = phase, streaming.connection.serial == serial else { return [notice] }
        return [notice] + startRotation(reason: .serverShutdown, nowNanos: nowNanos)
    }

    mutating func startRotation(reason: FeedEvent.RotationReason, nowNanos: Int64) -> [FeedAction] {
        guard case .streaming(let streaming) = phase else { return [] }
        let candidate = newConnection(nowNanos: nowNanos)
        let current = streaming.connection
        phase = .rotating(FeedRotation(current: current, candidate: candidate, reason: reason,
                                       duplicatesBefore: sequencer.duplicatesDropped, symbolCount: symbolCount))
        return [announce(candidate, purpose: .rotation),
                .report(.rotationStarted(reason: reason, connection: current.serial, candidate: candidate.serial)),
                .open(serial: candidate.serial)]
    }

    /// True when a switch is waiting for the end of the event being handled
    /// (a cheap check for the driver after every socket read).
    var isSwitchDue: Bool {
        guard case .rotating(let rotation) = phase else { return false }
        return rotation.switchDue
    }

    /// The event being handled is over: switch now if the overlap was shown.
    mutating func settleRotation(nowNanos: Int64) -> [FeedAction] {
        guard case .rotating(let rotation) = phase, rotation.switchDue else { return [] }
        return switchToCandidate(rotation, retiringCurrent: true, proven: true, nowNanos: nowNanos)
    }

    /// Current ended during the rotation: the candidate carries on, proven or not.
    mutating func currentLost(_ rotation: FeedRotation, reason: String, nowNanos: Int64) -> [FeedAction] {
        let lost = FeedAction.report(.connectionLost(connection: rotation.current.serial, reason: reason, retryInMs: nil))
        guard rotation.candidate.isOpen else {
            phase = .connecting(rotation.candidate)
            return [lost]
        }
        return [lost] + switchToCandidate(rotation, retiringCurrent: false, proven: false, nowNanos: nowNanos)
    }

    /// The candidate ended: current streams on, and the rotation is tried
    /// again after the backoff's next wait.
    mutating func candidateFailed(_ rotation: FeedRotation, reason: String, nowNanos: Int64) -> [FeedAction] {
        let delay = nextRotationDelay()
        let deferred = FeedPhase.DeferredRotation(reason: rotation.reason, notBeforeNanos: nowNanos + delay)
        phase = .streaming(FeedPhase.Streaming(connection: rotation.current, deferredRotation: deferred))
        return [.report(.connectionFailed(connection: rotation.candidate.serial, reason: reason,
                                          retryInMs: delay / 1_000_000, failures: backoff.failures))]
    }

    /// The candidate becomes the streaming connection. Current (unless it is
    /// already gone) is closed only now, after the candidate has taken over.
    private mutating func switchToCandidate(_ rotation: FeedRotation, retiringCurrent: Bool, proven: Bool,
                                            nowNanos: Int64) -> [FeedAction] {
        assert(rotation.candidate.isOpen, "switching to candidate \(rotation.candidate.serial) before it opened")
        phase = .streaming(FeedPhase.Streaming(connection: rotation.candidate))
        var actions: [FeedAction] = []
        if retiringCurrent {
            retiring.append(RetiringConnection(serial: rotation.current.serial, closingSinceNanos: nowNanos))
            actions.append(.close(serial: rotation.current.serial, reason: "rotated to a newer connection"))
        }
        actions.append(.publishHeld(rotation.held))
        actions.append(.completeRotation(from: retiringCurrent ? rotation.current.serial : 0, to: rotation.candidate.serial,
                                         proven: proven, duplicatesBefore: rotation.duplicatesBefore))
        return actions
    }

    // MARK: Trades

    /// One trade from connection `serial`: the per-trade decision.
    mutating func tradeArrived(_ trade: Trade, on serial: UInt32) -> TradeVerdict {
        switch phase {
        case .streaming(var streaming) where streaming.connection.serial == serial:
            if !streaming.connection.reachedStreaming {
                reachedStreaming(&streaming.connection)
                phase = .streaming(streaming)
            }
            return admit(trade)
        case .connecting(let attempt) where attempt.serial == serial:
            return admit(trade)
        case .rotating(var rotation) where rotation.current.serial == serial:
            let verdict = admit(trade)
            rotation.currentDelivered(trade)
            phase = .rotating(rotation)
            return verdict
        case .rotating(var rotation) where rotation.candidate.serial == serial:
            // Leave the phase for the append, so the held array is not shared and copied.
            phase = .idle
            if !rotation.candidate.reachedStreaming { reachedStreaming(&rotation.candidate) }
            rotation.hold(trade, alreadyDelivered: sequencer.hasDelivered(symbolIndex: trade.symbolIndex,
                                                                          tradeID: trade.tradeID))
            phase = .rotating(rotation)
            return .held
        default:
            return .ignored
        }
    }

    /// The sequencer's verdict alone: what is new, what is a duplicate, what
    /// skipped a gap, what filled one late, and what an implausible id became.
    mutating func admit(_ trade: Trade) -> TradeVerdict {
        switch sequencer.admit(trade) {
        case .first, .next: return .publish
        case .afterGap(let missing, let lastID): return .publishAfterGap(missing: missing, lastID: lastID)
        case .lateFill: return .publishLate
        case .duplicate: return .duplicate
        case .suspect(let lastID, let dropped): return .suspect(lastID: lastID, droppedOutlierID: dropped)
        case .afterOutlier(let outlierID, let missing, let lastID):
            return .publishAfterOutlier(outlierID: outlierID, missing: missing, lastID: lastID)
        case .afterReset(let suspect, let previousID, let missing):
            return .publishAfterReset(suspect: suspect, previousID: previousID, missing: missing)
        }
    }
}
