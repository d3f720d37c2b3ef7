/// Warm-up kline fetches on the backfill's connection. The trade backfill
/// keeps the tape gap-free, so it always goes first: a `klines` request is
/// sent only while no trade range waits, and only if the weight left in the
/// window still has room for a trade request after it. 429/418 pause both.
extension BackfillMachine {
    /// Queues a fetch; the connection opens if it is not open.
    mutating func requestKlines(_ request: KlineRequest, nowNanos: Int64) -> (KlineFetches.Enqueued, [BackfillAction]) {
        let enqueued = klines.enqueue(request, nowNanos: nowNanos)
        var actions: [BackfillAction] = []
        if enqueued == .queued { pump(nowNanos: nowNanos, into: &actions) }
        return (enqueued, actions)
    }

    /// The link is open on `serial`: sends the next due fetch if nothing
    /// stands before it.
    mutating func pumpKlines(serial: UInt32, tradesWaiting: Bool, nowNanos: Int64,
                             into actions: inout [BackfillAction]) {
        guard !tradesWaiting, let request = klines.nextDue(nowNanos: nowNanos) else { return }
        let cost = settings.klineRequestWeight
        guard statistics.weightUsed + cost + settings.requestWeight <= statistics.weightLimit else { return }
        let requestID = nextRequestID
        nextRequestID += 1
        klines.sent(request, requestID: requestID, serial: serial, nowNanos: nowNanos)
        klines.statistics.weightSpent += cost
        statistics.weightUsed += cost  // the shared window's estimate, corrected by the reply
        if case .open(serial, nil, _) = link { link = .open(serial: serial, inFlight: nil, idleSinceNanos: nowNanos) }
        actions.append(.sendKlines(serial: serial, requestID: requestID, request))
    }

    /// One reply to the fetch in flight (the driver routes it here by id).
    mutating func repliedKlines(_ reply: KlineReply, serial: UInt32, nowNanos: Int64,
                                nowUnixMs: Int64) -> [BackfillAction] {
        guard case .open(serial, let tradeInFlight, _) = link, let fetch = klines.inFlight,
              case .inFlight(let requestID, serial, _) = fetch.phase, reply.requestID == requestID
        else { return [] }  // nothing we await: ignore it
        // The idle clock restarts; a trade request's reply deadline is left alone.
        if tradeInFlight == nil { link = .open(serial: serial, inFlight: nil, idleSinceNanos: nowNanos) }
        if let weight = reply.weight { noteWeight(weight, nowNanos: nowNanos, nowUnixMs: nowUnixMs) }
        var actions: [BackfillAction] = []
        let report: KlineFetchReport
        switch reply {
        case .klines(_, let list, _):
            refusal = nil
            failures = 0
            report = klines.fetched(list, nowNanos: nowNanos)
        case .refused(_, let status, let code, let message, let retryAfterUnixMs, _) where status == 429 || status == 418:
            // The IP's limit, not this request's fault: everything waits, the fetch keeps its tries.
            failures += 1
            let delayNanos = retryAfterUnixMs.map { max(0, $0 - nowUnixMs) * 1_000_000 }
                ?? settings.retryDelayNanos(failures: failures)
            pausedUntilNanos = max(pausedUntilNanos, nowNanos + delayNanos)
            refusal = "status \(status), code \(code): \(message)"
            report = klines.retryInFlight(reason: refusal!, notBeforeNanos: nowNanos + delayNanos,
                                          countsAsFailure: false, nowNanos: nowNanos)
        case .refused(_, let status, let code, let message, _, _) where status >= 500:
            report = klines.retryInFlight(reason: "status \(status), code \(code): \(message)",
                                          notBeforeNanos: nowNanos + settings.retryDelayNanos(failures: fetch.failedTries),
                                          countsAsFailure: true, nowNanos: nowNanos)
        case .refused(_, let status, let code, let message, _, _):
            // 400 (invalid symbol or interval) and the like: a retry gets the same answer.
            report = klines.failInFlight(reason: "status \(status), code \(code): \(message)", nowNanos: nowNanos)
        case .malformed:
            report = klines.retryInFlight(reason: "unreadable reply",
                                          notBeforeNanos: nowNanos + settings.retryDelayNanos(failures: fetch.failedTries),
                                          countsAsFailure: true, nowNanos: nowNanos)
        }
        actions.append(.klines(report))
        pump(nowNanos: nowNanos, into: &actions)
        return actions
    }
}
