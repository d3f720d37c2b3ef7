import MarketData

/// The backfill's decisions, with no socket: which symbols hold their live
/// trades, which ids to fetch next, when the API connection opens and closes,
/// how the request weight and 429/418 pause it, and when a gap is given up.
/// Each transition takes the time and returns `BackfillAction`s; the driver
/// (BackfillCoordinator) does the I/O. Unit tests drive it on a fake clock.
struct BackfillMachine {
    /// The one WebSocket API connection, opened on demand.
    enum Link: Equatable {
        /// No connection (none needed, or waiting for `pausedUntilNanos`).
        case closed
        case connecting(serial: UInt32, sinceNanos: Int64)
        /// `inFlight`: the one request awaiting its reply (one at a time keeps
        /// the weight predictable and the replies in order).
        case open(serial: UInt32, inFlight: BackfillRequest?, idleSinceNanos: Int64)
    }

    // Mutable state is internal (not private) because the extensions in
    // BackfillMachine+Link.swift and +Replies.swift share it; only the machine writes it.
    let settings: BackfillSettings
    let symbolNames: [String]
    /// One entry per symbol index; nil while the symbol has no gap (the live path's one check).
    var holds: [SymbolBackfill?]
    var holdingCount = 0
    var link: Link = .closed
    var statistics = BackfillStatistics()
    /// No request or connection attempt before this (429/418, weight, failures).
    var pausedUntilNanos: Int64 = 0
    /// Why the API last failed us; a gap that times out meanwhile says so.
    var refusal: String?
    var failures = 0
    var nextSerial: UInt32
    var nextRequestID: Int64 = 1
    /// Round-robin over symbols, so one symbol's large gap cannot starve another.
    var lastServedSymbol = -1
    /// Warm-up kline fetches (BackfillMachine+Klines.swift): they share the
    /// connection and the weight, and go only when no trade range waits.
    var klines: KlineFetches

    /// Backfill serials start high so their event-token generations never
    /// meet the market connections' (which count up from 1).
    static let firstSerial: UInt32 = 0x80_0000

    init(settings: BackfillSettings, symbolNames: [String]) {
        self.settings = settings
        self.symbolNames = symbolNames
        holds = Array(repeating: nil, count: symbolNames.count)
        nextSerial = Self.firstSerial
        // Room for every (symbol, interval) at once, plus some time ranges.
        klines = KlineFetches(capacity: symbolNames.count * BinanceKlineInterval.names.count + 64,
                              deadlineNanos: settings.klineDeadlineNanos, maxFailedTries: settings.klineMaxFailedTries)
    }

    /// The live path's question, O(1): must this symbol's live trades wait?
    @inline(__always)
    func isHolding(_ symbolIndex: Int) -> Bool {
        holdingCount != 0 && holds[symbolIndex] != nil
    }

    var hasConnection: Bool { link != .closed }

    // MARK: Gaps and held trades

    /// `trade` (already admitted by the sequencer) showed that ids
    /// `lastID + 1 ..< trade.tradeID` never arrived.
    mutating func gapFound(before trade: Trade, lastID: Int64, nowNanos: Int64) -> [BackfillAction] {
        let index = trade.symbolIndex
        let first = lastID + 1, last = trade.tradeID - 1
        precondition(first <= last, "a gap needs a missing id")
        var actions: [BackfillAction] = []
        let item: SymbolBackfill.Item
        if last - first + 1 > settings.maxTradesPerGap {
            item = .notice(TradeGap(symbolIndex: index, firstMissingID: first, lastMissingID: last, reason: .tooLarge,
                                    detail: "more than --backfill-max-trades (\(settings.maxTradesPerGap)) missing"))
        } else {
            item = .missing(first: first, last: last, deadlineNanos: nowNanos + settings.timeoutNanos)
            actions.append(.report(.gapFound(symbol: symbolNames[index], firstMissingID: first, lastMissingID: last)))
        }
        if holds[index] == nil {
            holds[index] = SymbolBackfill(sinceNanos: nowNanos)
            holdingCount += 1
        }
        holds[index]!.append(item)
        holds[index]!.append(.live(trade))
        statistics.liveTradesHeld += 1
        drain(index, nowNanos: nowNanos, into: &actions)
        pump(nowNanos: nowNanos, into: &actions)
        return actions
    }

    /// A live trade of a held symbol (after the sequencer admitted it).
    mutating func hold(_ trade: Trade, nowNanos: Int64) -> [BackfillAction] {
        let index = trade.symbolIndex
        precondition(holds[index] != nil, "hold() for a symbol that is not held")
        holds[index]!.append(.live(trade))
        statistics.liveTradesHeld += 1
        guard Int64(holds[index]!.liveHeld) > settings.maxTradesPerGap else { return [] }
        var actions: [BackfillAction] = []
        holds[index]!.giveUp(symbolIndex: index, reason: .tooLarge,
                             detail: "more than --backfill-max-trades (\(settings.maxTradesPerGap)) live trades held",
                             where: { _ in true })
        drain(index, nowNanos: nowNanos, into: &actions)
        return actions
    }

    /// Hands over the front of the symbol's tape up to the next range still
    /// to fetch; a symbol with nothing left stops holding.
    mutating func drain(_ index: Int, nowNanos: Int64, into actions: inout [BackfillAction]) {
        guard var hold = holds[index] else { return }
        holds[index] = nil  // no copy-on-write while the front is popped
        loop: while let front = hold.front {
            switch front {
            case .missing:
                break loop
            case .live(let trade):
                actions.append(.deliver(trade))
            case .notice(let gap):
                statistics.unrecoverableGaps += 1
                statistics.unrecoverableTrades += gap.tradeCount
                statistics.unrecoverableByReason[gap.reason, default: 0] += 1
                actions.append(.announce(gap))
                actions.append(.report(.unrecoverable(symbol: symbolNames[index], gap: gap)))
            }
            hold.popFront()
        }
        guard hold.isEmpty else {
            holds[index] = hold
            return
        }
        holdingCount -= 1
        let heldNanos = nowNanos - hold.sinceNanos
        statistics.holdsReleased += 1
        statistics.heldNanosTotal += heldNanos
        statistics.heldNanosMax = max(statistics.heldNanosMax, heldNanos)
        actions.append(.report(.released(symbol: symbolNames[index], backfilled: hold.backfilled,
                                         heldTrades: hold.liveHeld, heldMs: heldNanos / 1_000_000)))
    }
}
