import MarketData

/// The API connection's life and the request pacing.
extension BackfillMachine {
    /// The next symbol (round-robin) whose front is a range still to fetch.
    private func nextSymbolToFetch() -> Int? {
        let count = holds.count
        for step in 1...max(count, 1) {
            let index = (lastServedSymbol + step) % count
            if case .missing = holds[index]?.front { return index }
        }
        return nil
    }

    /// Moves the link toward sending the next request, if any is needed and allowed.
    /// Trade ranges go first; a kline fetch only when none waits (pumpKlines).
    mutating func pump(nowNanos: Int64, into actions: inout [BackfillAction]) {
        guard nowNanos >= pausedUntilNanos else { return }
        let index = holdingCount > 0 ? nextSymbolToFetch() : nil
        guard index != nil || klines.nextDue(nowNanos: nowNanos) != nil else { return }
        switch link {
        case .closed:
            let serial = nextSerial
            nextSerial = nextSerial == 0xFF_FFFF ? Self.firstSerial : nextSerial + 1
            link = .connecting(serial: serial, sinceNanos: nowNanos)
            actions.append(.open(serial: serial))
        case .connecting:
            return
        case .open(let serial, let inFlight, _):
            if inFlight == nil, let index { sendTrades(index, serial: serial, nowNanos: nowNanos, into: &actions) }
            pumpKlines(serial: serial, tradesWaiting: index != nil, nowNanos: nowNanos, into: &actions)
        }
    }

    private mutating func sendTrades(_ index: Int, serial: UInt32, nowNanos: Int64,
                                     into actions: inout [BackfillAction]) {
        // Stop before the limit: the API bans an IP (418) that keeps going past 429.
        guard statistics.weightUsed + settings.requestWeight <= statistics.weightLimit else { return }
        guard case .missing(let first, let last, _) = holds[index]!.front else { return }
        let request = BackfillRequest(requestID: nextRequestID, symbolIndex: index, fromID: first,
                                      limit: Int(min(Int64(settings.maxTradesPerRequest), last - first + 1)))
        nextRequestID += 1
        lastServedSymbol = index
        statistics.requests += 1
        // Counted now, corrected by the reply's rateLimits.
        statistics.weightUsed += settings.requestWeight
        statistics.weightSpent += settings.requestWeight
        link = .open(serial: serial, inFlight: request, idleSinceNanos: nowNanos)
        actions.append(.send(serial: serial, request))
    }

    /// The maintenance tick: gives up expired ranges, retries, closes an idle connection.
    mutating func tick(nowNanos: Int64) -> [BackfillAction] {
        var actions: [BackfillAction] = []
        if holdingCount > 0 {
            let reason: TradeGap.Reason = refusal == nil ? .timeout : .apiRefused
            let detail = refusal.map { "not repaired within --backfill-timeout: \($0)" }
                ?? "not repaired within --backfill-timeout"
            for index in holds.indices where holds[index] != nil {
                holds[index]!.giveUp(symbolIndex: index, reason: reason, detail: detail,
                                     where: { $0 <= nowNanos })
                drain(index, nowNanos: nowNanos, into: &actions)
            }
        }
        for report in klines.expire(nowNanos: nowNanos) { actions.append(.klines(report)) }
        switch link {
        case .connecting(let serial, let since) where nowNanos - since >= settings.handshakeTimeoutNanos:
            actions.append(.end(serial: serial, reason: "the WebSocket API did not open within the handshake timeout"))
        case .open(let serial, .some, let sentAt) where nowNanos - sentAt >= settings.timeoutNanos:
            // A silent API would otherwise hold the one request slot forever.
            actions.append(.end(serial: serial, reason: "no reply within --backfill-timeout"))
        case .open(let serial, nil, let idleSince) where holdingCount == 0 && klines.isEmpty
                && nowNanos - idleSince >= settings.idleCloseNanos:
            link = .closed
            actions.append(.close(serial: serial))
        case .open(let serial, _, _):
            if let sentAt = klines.sentAtNanos(on: serial), nowNanos - sentAt >= settings.timeoutNanos {
                actions.append(.end(serial: serial, reason: "no klines reply within --backfill-timeout"))
            }
        default:
            break
        }
        pump(nowNanos: nowNanos, into: &actions)
        return actions
    }

    mutating func opened(serial: UInt32, nowNanos: Int64) -> [BackfillAction] {
        guard case .connecting(serial, _) = link else { return [] }
        link = .open(serial: serial, inFlight: nil, idleSinceNanos: nowNanos)
        var actions: [BackfillAction] = []
        pump(nowNanos: nowNanos, into: &actions)
        if case .open(serial, nil, _) = link, holdingCount == 0, klines.isEmpty {
            link = .closed  // nothing left to fetch by the time it opened
            actions.append(.close(serial: serial))
        }
        return actions
    }

    /// The connection is gone (the socket is closed). A request in flight is
    /// sent again on the next connection, after a backoff.
    mutating func ended(serial: UInt32, reason: String, nowNanos: Int64) -> [BackfillAction] {
        let wasOpen: Bool
        switch link {
        case .connecting(serial, _): wasOpen = false
        case .open(serial, _, _): wasOpen = true
        default: return []  // an idle connection we closed, already forgotten
        }
        link = .closed
        var actions: [BackfillAction] = [.report(.apiConnectionEnded(connection: serial, reason: reason))]
        guard holdingCount > 0 || !klines.isEmpty else { return actions }
        failures = wasOpen ? 0 : failures + 1
        refusal = "API connection: \(reason)"
        pausedUntilNanos = max(pausedUntilNanos, nowNanos + settings.retryDelayNanos(failures: failures))
        for report in klines.connectionEnded(serial: serial, reason: reason, notBeforeNanos: pausedUntilNanos,
                                             nowNanos: nowNanos) {
            actions.append(.klines(report))
        }
        pump(nowNanos: nowNanos, into: &actions)
        return actions
    }

    /// The server is stopping: nothing more is fetched. Every held trade is
    /// released and every open range announced, so no client is left waiting.
    mutating func shutdown(nowNanos: Int64) -> [BackfillAction] {
        var actions: [BackfillAction] = []
        for index in holds.indices where holds[index] != nil {
            holds[index]!.giveUp(symbolIndex: index, reason: .timeout, detail: "the server is stopping",
                                 where: { _ in true })
            drain(index, nowNanos: nowNanos, into: &actions)
        }
        for report in klines.failAll(reason: "the server is stopping", nowNanos: nowNanos) {
            actions.append(.klines(report))
        }
        switch link {
        case .closed: break
        case .connecting(let serial, _), .open(let serial, _, _): actions.append(.end(serial: serial, reason: "shutdown"))
        }
        link = .closed
        pausedUntilNanos = .max
        return actions
    }
}
