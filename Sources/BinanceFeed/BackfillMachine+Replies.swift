import MarketData

/// What the WebSocket API answered, and what follows from it.
extension BackfillMachine {
    /// One reply on connection `serial`. `readUnixNanos` becomes the
    /// backfilled trades' `ingestUnixNanos`; `nowUnixMs` turns Retry-After
    /// (a wall-clock time) and the weight window into delays.
    mutating func replied(_ reply: HistoryReply, serial: UInt32, readUnixNanos: Int64, nowNanos: Int64,
                          nowUnixMs: Int64) -> [BackfillAction] {
        guard case .open(serial, let inFlight?, _) = link, reply.requestID == nil || reply.requestID == inFlight.requestID
        else { return [] }  // a reply to nothing we await: ignore it
        link = .open(serial: serial, inFlight: nil, idleSinceNanos: nowNanos)
        if let weight = reply.weight { noteWeight(weight, nowNanos: nowNanos, nowUnixMs: nowUnixMs) }
        var actions: [BackfillAction] = []
        switch reply {
        case .trades(_, let trades, _):
            refusal = nil
            failures = 0
            received(trades, for: inFlight, readUnixNanos: readUnixNanos, nowNanos: nowNanos, into: &actions)
        case .refused(_, let status, let code, let message, let retryAfterUnixMs, _):
            refused(status: status, code: code, message: message, retryAfterUnixMs: retryAfterUnixMs,
                    request: inFlight, nowNanos: nowNanos, nowUnixMs: nowUnixMs, into: &actions)
        case .malformed:
            refused(status: 0, code: 0, message: "unreadable reply", retryAfterUnixMs: nil,
                    request: inFlight, nowNanos: nowNanos, nowUnixMs: nowUnixMs, into: &actions)
        }
        pump(nowNanos: nowNanos, into: &actions)
        return actions
    }

    /// Pauses until the window turns when one more request would pass the limit.
    mutating func noteWeight(_ weight: RequestWeight, nowNanos: Int64, nowUnixMs: Int64) {
        statistics.weightUsed = weight.used
        statistics.weightLimit = weight.limit
        guard weight.used + settings.requestWeight > weight.limit, weight.intervalMs > 0 else { return }
        let untilWindowMs = weight.intervalMs - nowUnixMs % weight.intervalMs
        pausedUntilNanos = max(pausedUntilNanos, nowNanos + untilWindowMs * 1_000_000)
        statistics.weightUsed = 0  // the new window starts empty; the next reply corrects it
    }

    /// Trades from `request.fromID` on, ascending. Ids the history skips are
    /// announced; the rest is delivered, and what is left is asked for next.
    private mutating func received(_ trades: [HistoricalTrade], for request: BackfillRequest, readUnixNanos: Int64,
                                   nowNanos: Int64, into actions: inout [BackfillAction]) {
        let index = request.symbolIndex
        guard var hold = holds[index], case .missing(let first, let last, let deadline) = hold.front,
              first == request.fromID else { return }  // that range was given up meanwhile
        holds[index] = nil  // taken out while edited, so its items are not copied
        var expected = first
        var lastReturned = first - 1
        for trade in trades {
            lastReturned = max(lastReturned, trade.tradeID)
            guard trade.tradeID >= expected, trade.tradeID <= last else { continue }
            if trade.tradeID > expected {
                actions.append(contentsOf: announcement(index, expected, trade.tradeID - 1))
            }
            actions.append(.deliver(Trade(symbolIndex: index, tradeID: trade.tradeID, price: trade.price,
                                          quantity: trade.quantity, tradeTimeMs: trade.timeMs, eventTimeMs: trade.timeMs,
                                          ingestUnixNanos: readUnixNanos, isBackfilled: true,
                                          isBuyerMaker: trade.isBuyerMaker)))
            statistics.tradesBackfilled += 1
            hold.countBackfilled(1)
            expected = trade.tradeID + 1
        }
        // A short reply, or one that went past the range, holds every id of the range that exists.
        if expected <= last && (trades.count < request.limit || lastReturned >= last) {
            actions.append(contentsOf: announcement(index, expected, last))
            expected = last + 1
        }
        if expected > last { hold.popFront() } else { hold.replaceFront(.missing(first: expected, last: last,
                                                                                deadlineNanos: deadline)) }
        holds[index] = hold
        drain(index, nowNanos: nowNanos, into: &actions)
    }

    private mutating func announcement(_ index: Int, _ first: Int64, _ last: Int64) -> [BackfillAction] {
        let gap = TradeGap(symbolIndex: index, firstMissingID: first, lastMissingID: last, reason: .historyMissing,
                           detail: "Binance's trade history does not hold these ids")
        statistics.unrecoverableGaps += 1
        statistics.unrecoverableTrades += gap.tradeCount
        statistics.unrecoverableByReason[.historyMissing, default: 0] += 1
        return [.announce(gap), .report(.unrecoverable(symbol: symbolNames[index], gap: gap))]
    }

    /// 429 (too many requests) and 418 (banned) pause every request until
    /// Retry-After, or a backoff; the gaps wait, up to their deadlines. Any
    /// other refusal will not change on a retry: the range is announced.
    private mutating func refused(status: Int, code: Int, message: String, retryAfterUnixMs: Int64?,
                                  request: BackfillRequest, nowNanos: Int64, nowUnixMs: Int64,
                                  into actions: inout [BackfillAction]) {
        let detail = status == 0 ? message : "status \(status), code \(code): \(message)"
        if status == 429 || status == 418 {
            failures += 1
            let delayNanos = retryAfterUnixMs.map { max(0, $0 - nowUnixMs) * 1_000_000 }
                ?? settings.retryDelayNanos(failures: failures)
            pausedUntilNanos = max(pausedUntilNanos, nowNanos + delayNanos)
            refusal = detail
            actions.append(.report(.apiRefused(status: status, code: code, message: message,
                                               retryInMs: delayNanos / 1_000_000)))
            return
        }
        actions.append(.report(.apiRefused(status: status, code: code, message: message, retryInMs: nil)))
        let index = request.symbolIndex
        guard var hold = holds[index], case .missing(let first, let last, _) = hold.front, first == request.fromID
        else { return }
        hold.replaceFront(.notice(TradeGap(symbolIndex: index, firstMissingID: first, lastMissingID: last,
                                           reason: .apiRefused, detail: detail)))
        holds[index] = hold
        drain(index, nowNanos: nowNanos, into: &actions)
    }
}
