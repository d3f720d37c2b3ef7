import GRPCWire

/// How streams join and leave the engine, and the periodic work done on them.
/// Every way out goes through `leave`, so a stream never keeps a subscription,
/// a deadline or a registry slot after it is gone.
extension PriceDistributor {
    /// A StreamPrices stream opened: it joins the fan-out from the next trade.
    /// Returns the timer to arm when the client bounded it in time.
    public func open(_ stream: Stream, bound: StreamBound, callTimeoutNanos: Int64?,
                     nowNanos: Int64) -> TimerRequest? {
        registry.add(stream, priceBudget: bound.priceMessages)
        return bounds.track(stream, bound, callTimeoutNanos: callTimeoutNanos, nowNanos: nowNanos)
    }

    /// Any other call whose client sent grpc-timeout (Health.Watch never ends
    /// by itself): its deadline is kept with the price streams' ones.
    public func trackDeadline(of stream: Stream, callTimeoutNanos: Int64, nowNanos: Int64) -> TimerRequest? {
        bounds.track(stream, StreamBound(), callTimeoutNanos: callTimeoutNanos, nowNanos: nowNanos)
    }

    /// The stream is gone, whoever ended it. Returns true when it was a
    /// registered StreamPrices stream.
    @discardableResult
    public func closed(_ stream: Stream) -> Bool {
        leave(stream)
    }

    /// The transport ended `stream` for its connection's total backlog (never
    /// during a walk of the registry).
    public func dropTooSlow(_ stream: Stream) {
        leave(stream)
        slowStreamsDropped += 1
    }

    /// Ends a call with `status` once what is queued has gone out: a client
    /// bound reached (OK, or DEADLINE_EXCEEDED), or a request that is not one.
    public func end(_ stream: Stream, _ status: GRPCStatus) {
        leave(stream)
        stream.finish(status)
    }

    /// Applies an IndicatorRequest to the stream's subscriptions. Returns the
    /// status to answer it with, or nil when the stream is not registered.
    public func apply(_ request: SubscriptionRequest, from stream: Stream) -> GRPCStatus? {
        let indicators = self.indicators
        return registry.withEntry(of: stream) { indicators.apply(request, to: &$0) }
    }

    /// Applies a candle request (candles, or an indicator on candles); a new
    /// subscription's current state goes out right after its status.
    public func apply(_ request: CandleSubscriptionRequest, from stream: Stream) -> GRPCStatus? {
        let candles = self.candles, indicators = self.indicators
        return registry.withEntry(of: stream) { candles.apply(request, to: &$0, shares: &indicators.shares) }
    }

    /// The deadline timer fired: calls whose time is up end with their status.
    /// Returns the timer for the next deadline, if any.
    public func deadlineTimerFired(nowNanos: Int64) -> TimerRequest? {
        var expired: [(stream: Stream, status: GRPCStatus)] = []
        let next = bounds.timerFired(nowNanos: nowNanos, expired: &expired)
        for expiry in expired { end(expiry.stream, expiry.status) }
        return next
    }

    /// Every batch tick: streams over the soft limit for longer than the
    /// timeout end with RESOURCE_EXHAUSTED; streams back under it get their
    /// held trades even when no new trade comes to carry them.
    public func sweepSlowConsumers(nowNanos: Int64) {
        let policy = slowConsumers
        let timeout = policy.timeoutNanos
        var tooSlow: [(Stream, limit: Int)] = []
        registry.forEachEntry { stream, entry in
            let limit = policy.conflationLimit(windowNeverOpened: stream.windowNeverOpened)
            if stream.backlogBytes > limit {
                if entry.slow.aboveSoftSinceNanos == 0 {
                    entry.slow.aboveSoftSinceNanos = nowNanos
                } else if nowNanos - entry.slow.aboveSoftSinceNanos >= timeout {
                    tooSlow.append((stream, limit))
                }
            } else {
                entry.slow.aboveSoftSinceNanos = 0
                if entry.slow.isHolding { sendHeld(&entry, to: stream) }
            }
        }
        for (stream, limit) in tooSlow {
            dropTooSlow(stream)
            let reader = stream.windowNeverOpened ? ", its flow-control window never opened" : ""
            stream.abandon(GRPCStatus(.resourceExhausted, "client too slow: over \(limit) bytes queued for \(timeout / 1_000_000) ms\(reader)"))
        }
        endWalk()
    }

    /// Every stream with subscriptions gets what changed since its last
    /// batch; `final` sends to slow streams too (nothing comes after it).
    public func emitIndicatorBatches(final: Bool = false) {
        indicators.emitBatches(&registry, slowConsumers: final ? nil : slowConsumers)
        candles.emitBatches(&registry, softLimitBytes: final ? .max : slowConsumers.softLimitBytes)
    }

    /// The candle clock (wall time, or the newest trade's time under replay)
    /// passed a candle's end plus the grace: quiet symbols' candles close and
    /// go out at once. Returns when to call again (unix ms).
    /// `holding`: symbols whose tape is incomplete (a backfill holds their
    /// live trades) keep their candles open; their trades close them.
    public func candleClockDue(nowUnixMs: Int64, holding: (Int) -> Bool = { _ in false }) -> Int64? {
        candles.advanceClock(nowUnixMs: nowUnixMs, &registry, softLimitBytes: slowConsumers.softLimitBytes,
                             holding: holding)
    }

    /// The same message to every StreamPrices stream (the drain notice).
    public func sendToAll(_ message: WireMessage) {
        registry.forEach { $0.send(message) }
    }

    /// Ends every StreamPrices stream with `status` after what it has queued.
    public func finishAll(_ status: GRPCStatus) {
        registry.forEach { $0.finish(status) }
    }

    @discardableResult
    private func leave(_ stream: Stream) -> Bool {
        bounds.forget(stream)
        guard let subscriptions = registry.remove(stream) else { return false }
        indicators.release(subscriptions.indicators, connection: stream.connectionKey)
        candles.release(subscriptions.candles, connection: stream.connectionKey, shares: &indicators.shares)
        return true
    }
}
