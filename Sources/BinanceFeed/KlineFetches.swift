/// The queue of warm-up fetches, with no socket and no clock of its own:
/// each fetch's life is its `Phase`, and every transition returns the
/// `KlineFetchReport`s it produced. BackfillMachine owns it and decides when
/// the shared API connection, the trade backfill and the weight let one go.
struct KlineFetches {
    enum Phase: Equatable {
        /// Waiting its turn (the connection, trade backfill first, the weight),
        /// and after a failed try not before `notBeforeNanos`.
        case queued(notBeforeNanos: Int64)
        /// Sent as `requestID` on connection `serial`; its reply, the
        /// connection's end or the reply deadline decides what follows.
        case inFlight(requestID: Int64, serial: UInt32, sentAtNanos: Int64)
    }

    struct Fetch: Equatable {
        let request: KlineRequest
        var phase: Phase
        /// Tries sent so far.
        var attempts = 0
        /// Tries that failed in a way a retry may mend but that were the
        /// request's own (5xx, unreadable, connection lost); 429/418 are the
        /// IP's and do not count.
        var failedTries = 0
        let queuedAtNanos: Int64
        /// What went wrong last, for the reason of a later give-up.
        var lastFailure: String?
    }

    enum Enqueued: Equatable {
        case queued
        /// The same request is already waiting or in flight; its one reply serves both.
        case alreadyQueued
        /// The queue holds `capacity` fetches already.
        case full
    }

    /// In queue order; at most one `inFlight` (one reply to wait for keeps the
    /// weight predictable and leaves the link to the trade backfill).
    private(set) var queue: [Fetch] = []
    let capacity: Int
    /// A fetch that has not succeeded this long after it was queued fails.
    let deadlineNanos: Int64
    /// Request-caused failures tolerated before giving up.
    let maxFailedTries: Int
    var statistics = KlineFetchStatistics()

    init(capacity: Int, deadlineNanos: Int64, maxFailedTries: Int) {
        precondition(capacity > 0 && maxFailedTries > 0)
        self.capacity = capacity
        self.deadlineNanos = deadlineNanos
        self.maxFailedTries = maxFailedTries
        // Not reserved: a cold queue, empty in most servers, bounded by `capacity`.
    }

    var isEmpty: Bool { queue.isEmpty }

    var inFlight: Fetch? {
        queue.first { if case .inFlight = $0.phase { true } else { false } }
    }

    /// When the fetch in flight on `serial` was sent (its reply deadline runs from there).
    func sentAtNanos(on serial: UInt32) -> Int64? {
        guard case .inFlight(_, serial, let sentAt)? = inFlight?.phase else { return nil }
        return sentAt
    }

    /// The first fetch that may be sent now, if nothing is in flight.
    func nextDue(nowNanos: Int64) -> KlineRequest? {
        guard inFlight == nil else { return nil }
        for fetch in queue {
            if case .queued(let notBefore) = fetch.phase, notBefore <= nowNanos { return fetch.request }
        }
        return nil
    }

    // MARK: Transitions

    mutating func enqueue(_ request: KlineRequest, nowNanos: Int64) -> Enqueued {
        if queue.contains(where: { $0.request == request }) { return .alreadyQueued }
        guard queue.count < capacity else { return .full }
        queue.append(Fetch(request: request, phase: .queued(notBeforeNanos: nowNanos), queuedAtNanos: nowNanos))
        return .queued
    }

    mutating func sent(_ request: KlineRequest, requestID: Int64, serial: UInt32, nowNanos: Int64) {
        guard let index = queue.firstIndex(where: { $0.request == request }),
              case .queued = queue[index].phase else { preconditionFailure("sent a fetch that was not queued") }
        queue[index].phase = .inFlight(requestID: requestID, serial: serial, sentAtNanos: nowNanos)
        queue[index].attempts += 1
        statistics.requests += 1
    }

    /// The in-flight fetch's klines arrived.
    mutating func fetched(_ klines: [Kline], nowNanos: Int64) -> KlineFetchReport {
        let fetch = takeInFlight()
        statistics.fetched += 1
        statistics.klinesReceived += klines.count
        return .fetched(symbol: fetch.request.symbol, interval: fetch.request.interval, klines: klines,
                        durationNanos: nowNanos - fetch.queuedAtNanos, attempts: fetch.attempts)
    }

    /// The in-flight fetch failed for good (a 400 will not change on a retry).
    mutating func failInFlight(reason: String, nowNanos: Int64) -> KlineFetchReport {
        failed(takeInFlight(), reason: reason, nowNanos: nowNanos)
    }

    /// The in-flight fetch failed in a way waiting may mend: queued again
    /// until `notBeforeNanos`, unless `countsAsFailure` uses up its tries.
    mutating func retryInFlight(reason: String, notBeforeNanos: Int64, countsAsFailure: Bool,
                                nowNanos: Int64) -> KlineFetchReport {
        guard let index = inFlightIndex else { preconditionFailure("no fetch in flight") }
        queue[index].lastFailure = reason
        if countsAsFailure { queue[index].failedTries += 1 }
        if queue[index].failedTries >= maxFailedTries {
            let tries = queue[index].failedTries
            return failed(queue.remove(at: index), reason: "\(reason) (\(tries) tries)", nowNanos: nowNanos)
        }
        queue[index].phase = .queued(notBeforeNanos: notBeforeNanos)
        statistics.retries += 1
        let fetch = queue[index]
        return .retrying(symbol: fetch.request.symbol, interval: fetch.request.interval, reason: reason,
                         retryInMs: max(0, notBeforeNanos - nowNanos) / 1_000_000, attempt: fetch.attempts)
    }

    /// Connection `serial` is gone: a fetch in flight on it is tried again.
    mutating func connectionEnded(serial: UInt32, reason: String, notBeforeNanos: Int64,
                                  nowNanos: Int64) -> [KlineFetchReport] {
        guard let fetch = inFlight, case .inFlight(_, serial, _) = fetch.phase else { return [] }
        return [retryInFlight(reason: "API connection ended mid-request: \(reason)", notBeforeNanos: notBeforeNanos,
                              countsAsFailure: true, nowNanos: nowNanos)]
    }

    /// Queued fetches past their deadline fail. One in flight waits for its
    /// reply (which has a deadline of its own).
    mutating func expire(nowNanos: Int64) -> [KlineFetchReport] {
        var reports: [KlineFetchReport] = []
        var index = 0
        while index < queue.count {
            let fetch = queue[index]
            guard case .queued = fetch.phase, nowNanos - fetch.queuedAtNanos >= deadlineNanos else {
                index += 1
                continue
            }
            queue.remove(at: index)
            let reason = "not fetched within \(deadlineNanos / 1_000_000_000)s" + (fetch.lastFailure.map { ": \($0)" } ?? "")
            reports.append(failed(fetch, reason: reason, nowNanos: nowNanos))
        }
        return reports
    }

    /// Every fetch fails with `reason` (the server is stopping).
    mutating func failAll(reason: String, nowNanos: Int64) -> [KlineFetchReport] {
        let all = queue
        queue.removeAll()
        return all.map { failed($0, reason: reason, nowNanos: nowNanos) }
    }

    // MARK: Helpers

    private var inFlightIndex: Int? {
        queue.firstIndex { if case .inFlight = $0.phase { true } else { false } }
    }

    private mutating func takeInFlight() -> Fetch {
        guard let index = inFlightIndex else { preconditionFailure("no fetch in flight") }
        return queue.remove(at: index)
    }

    private mutating func failed(_ fetch: Fetch, reason: String, nowNanos: Int64) -> KlineFetchReport {
        statistics.failed += 1
        return .failed(symbol: fetch.request.symbol, interval: fetch.request.interval, reason: reason,
                       durationNanos: nowNanos - fetch.queuedAtNanos, attempts: fetch.attempts)
    }
}
