import Engine
import GRPCServer
import Reactor

/// The server's own timers (owner `.server`). Every other owner's timers go
/// straight back to the component that scheduled them.
enum ServerTimer: UInt8 {
    /// The next replayed trade is due.
    case replayDue = 1
    /// The stop phase's flush budget ran out.
    case stopDeadline = 2
    /// The drain window closed.
    case drainDeadline = 3
    /// A client never acknowledged the GOAWAY notice's PING.
    case goAwayFallback = 4
    /// Time for every stream's indicator batch.
    case indicatorBatch = 5
    /// The engine's earliest client-asked call deadline (stream duration or grpc-timeout).
    case streamBound = 6
    /// Lingering messages are due to be written (--flush-linger).
    case flushLinger = 7
    /// The earliest candle end plus the grace (or, before any trade and
    /// under replay, the next look at the candle clock).
    case candleClose = 8

    var token: TimerToken { TimerToken(owner: .server, purpose: rawValue) }
}

extension TickwireServer {
    public func timerFired(_ token: TimerToken, reactor: Reactor) {
        switch token.owner {
        case .server: serverTimerFired(token)
        case .feed: liveFeed?.timerFired(token)
        case .connections: hub.timerFired(token)
        case .metrics: metrics?.timerFired(token)
        case .resolver, .supervisor: assertionFailure("the server schedules no \(token.owner) timers")
        }
    }

    private func serverTimerFired(_ token: TimerToken) {
        switch ServerTimer(rawValue: token.purpose) {
        case .replayDue:
            if replayState == .waiting { replayState = .ready }
        case .stopDeadline:
            guard reactor.phase.isStopping else { return }
            logger.warning("stop flush budget spent; closing remaining connections",
                           metadata: ["connections": "\(hub.connectionCount)"])
            apply(reactor.phase.flushEnded())
        case .drainDeadline:
            apply(reactor.phase.drainEnded(nowNanos: reactor.clock.monotonicNanos(), budget: configuration.shutdownBudget))
        case .goAwayFallback:
            hub.sendFinalGoAway()
        case .indicatorBatch:
            indicatorBatchDue()
        case .streamBound:
            streamBoundTimer = nil
            apply(distributor.deadlineTimerFired(nowNanos: reactor.clock.monotonicNanos()))
        case .flushLinger:
            flushLingerTimer = nil
            flushLinger.timerFired()  // beforeSleep, next, writes what waited
        case .candleClose:
            candleClockDue()
        case nil:
            assertionFailure("not a server timer: \(token)")
        }
    }

    /// Every --indicator-interval: slow consumers swept, memory returned, the
    /// linger's load sampled, and every subscribed stream's batch queued.
    private func indicatorBatchDue() {
        guard reactor.phase == .running || reactor.phase.isDraining else { return }
        let now = reactor.clock.monotonicNanos()
        batchCadence.recordRound(atNanos: now)
        distributor.sweepSlowConsumers(nowNanos: now)
        freedMemory.trimIfDue(nowNanos: now)
        sampleLoadForLinger(nowNanos: now)
        distributor.emitIndicatorBatches()
        let interval = configuration.indicators.intervalNanos
        nextBatchNanos += interval
        if nextBatchNanos <= now {  // the loop fell behind: skip, don't burst
            nextBatchNanos = now + interval - (now - nextBatchNanos) % interval
        }
        reactor.schedule(atNanos: nextBatchNanos, ServerTimer.indicatorBatch.token)
    }

    /// Candles close on the clock: the engine closes what ended (plus the
    /// grace), sends those candles, and says when the next one ends.
    func candleClockDue() {
        guard reactor.phase == .running || reactor.phase.isDraining else { return }
        requestHistoryOfNewSeries()
        let wallMs = reactor.clock.wallUnixNanos() / 1_000_000
        let now = reactor.clock.monotonicNanos()
        var at = now + configuration.indicators.intervalNanos
        let feed = liveFeed
        if let deadlineMs = distributor.candleClockDue(nowUnixMs: wallMs,
                                                       holding: { feed?.isHoldingTrades(of: $0) ?? false }) {
            at = now + max(1, deadlineMs - wallMs) * 1_000_000
        }
        reactor.schedule(atNanos: at, ServerTimer.candleClose.token)
    }

    /// Series first subscribed since the last tick: their recent klines are
    /// fetched on the backfill connection and joined if they agree with the
    /// candles built so far (CandleHistoryIntake). Nothing to fetch from
    /// under --replay, where the recording is the only history.
    private func requestHistoryOfNewSeries() {
        let wanted = distributor.candles.takeFirstSubscribed()
        guard let liveFeed, !wanted.isEmpty else { return }
        for series in wanted {
            let symbol = configuration.symbols.upperCased[series.symbol]
            do {
                try liveFeed.requestKlines(symbol: symbol, interval: series.interval.binanceName)
            } catch {
                logger.warning("kline history not requested; candles start from trades alone", metadata: [
                    "symbol": "\(symbol)", "interval": "\(series.interval.binanceName)", "reason": "\(error)",
                ])
            }
        }
    }

    /// Arms the engine's deadline timer where it asks, replacing the one armed.
    func apply(_ request: PriceDistributor<GRPCStream>.TimerRequest?) {
        guard case .arm(let atNanos)? = request else { return }
        if let streamBoundTimer { reactor.cancel(streamBoundTimer) }
        streamBoundTimer = reactor.schedule(atNanos: atNanos, ServerTimer.streamBound.token)
    }
}
