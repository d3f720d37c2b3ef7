/// Computes SMA, EMA, RSI, MACD, Bollinger Bands, ATR, Stochastic and VWAP on
/// live trades (or candles) for every client at once.
///
/// Clients asking for the same (symbol, kind, period) share one state: the
/// engine reference-counts subscriptions and returns a state to the pool when
/// its last subscriber leaves. A new state warms from the symbol's price history
/// at once (see `IndicatorCalculator.warm`); a late subscriber to an existing
/// state simply joins its series.
///
/// Everything is allocated in `init`. `ingest`, the per-trade path, neither
/// allocates nor locks, and costs O(1) per active state of the traded symbol.
/// The engine is single-threaded: the reactor thread owns it, and it is
/// non-copyable because it owns its memory.
///
/// Batching: every change bumps `version` and stamps it on the states it
/// touched, so a batcher that remembers the version of its previous batch asks
/// each of its handles whether `value(of:)?.version` is newer.
public struct IndicatorEngine: ~Copyable {
    public let maxPeriod: Int
    // Internal (not private) for the `+Peek` extension.
    var history: PriceHistory
    var pool: IndicatorPool
    /// Parallel to the pool's slots: `states[slot]` is what slot `slot` computes.
    var states: FixedArray<IndicatorState>
    /// Bumped on every trade and every newly warmed state; see `IndicatorValue.version`.
    public private(set) var version: UInt64 = 0

    /// - Parameters:
    ///   - symbolCount: symbols are numbered `0..<symbolCount`.
    ///   - historyCapacity: prices kept per symbol for warming new states.
    ///   - maxPeriod: the longest period a client may ask for; at most `historyCapacity`,
    ///     because an SMA reads its leaving price from the history.
    ///   - maxIndicators: distinct (symbol, kind, period) states alive at once.
    public init(symbolCount: Int, historyCapacity: Int, maxPeriod: Int, maxIndicators: Int) {
        precondition(maxPeriod >= 2, "the shortest period is 2")
        precondition(maxPeriod <= historyCapacity, "the history must hold the longest period")
        self.maxPeriod = maxPeriod
        history = PriceHistory(symbolCount: symbolCount, capacity: historyCapacity)
        pool = IndicatorPool(capacity: maxIndicators, symbolCount: symbolCount)
        states = FixedArray(repeating: .vacant, count: maxIndicators)
    }

    public var symbolCount: Int { history.symbolCount }
    public var historyCapacity: Int { history.capacity }
    public var maxIndicators: Int { pool.capacity }
    /// Distinct states alive now; the rest of `maxIndicators` is free.
    public var activeIndicatorCount: Int { pool.activeCount }

    // MARK: Subscriptions

    /// Adds a subscriber to the state for (symbol, kind, period, parameters),
    /// creating and warming it if it is the first. Each call must be paired with
    /// one `unsubscribe`; de-duplicating a client's repeated requests is the
    /// caller's job, and so are messages naming the bad parameter
    /// (`IndicatorParameters.problem`): here a bad one is only `.invalidPeriod`.
    public mutating func subscribe(symbol: Int, kind: IndicatorKind, period: Int,
                                   parameters: IndicatorParameters = .none)
        -> Result<IndicatorHandle, SubscribeError>
    {
        precondition(history.contains(symbol: symbol), "symbol index out of range")
        guard IndicatorParameters.problem(kind: kind, period: period, parameters: parameters,
                                          maxPeriod: maxPeriod) == nil
        else { return .failure(.invalidPeriod) }

        let key = IndicatorKey(symbol: symbol, kind: kind, period: period, parameters: parameters)
        if let slot = pool.find(key) {
            pool.addSubscriber(to: slot)
            return .success(pool.handle(for: slot))
        }
        guard let slot = pool.acquire(key) else { return .failure(.poolExhausted) }
        startState(in: slot, for: key)
        return .success(pool.handle(for: slot))
    }

    /// Removes one subscriber; the last one returns the state to the pool, after
    /// which `handle` is stale.
    public mutating func unsubscribe(_ handle: IndicatorHandle) {
        let slot = liveSlot(of: handle)
        if pool.removeSubscriber(from: slot) == .returnedToPool {
            states[slot].calculator.deallocate()
            states[slot] = .vacant
        }
    }

    /// Subscriptions sharing the handle's state; 0 once the handle is stale.
    public func subscriberCount(of handle: IndicatorHandle) -> Int {
        guard let slot = pool.slot(of: handle) else { return 0 }
        return pool.subscriberCount(of: slot)
    }

    /// What a live handle's state computes.
    public func key(of handle: IndicatorHandle) -> IndicatorKey {
        pool.key(of: liveSlot(of: handle))
    }

    /// The state's latest value, or nil while it is still warming.
    public func value(of handle: IndicatorHandle) -> IndicatorValue? {
        states[liveSlot(of: handle)].latest
    }

    // MARK: Trades

    /// Applies one trade of no quantity (VWAP ignores it); see `ingest(symbol:bar:…)`.
    public mutating func ingest(symbol: Int, price: Double, tradeId: Int64, tradeTimeMs: Int64) {
        ingest(symbol: symbol, bar: .trade(price: price, quantity: 0, timeMs: tradeTimeMs),
               tradeId: tradeId, tradeTimeMs: tradeTimeMs)
    }

    /// Applies one bar (a trade, or a closed candle): updates every active state
    /// of `symbol`, then records the bar in the symbol's history.
    ///
    /// Prices must be finite; the feed rejects anything else. A NaN or an
    /// infinity would enter the SMA's running sum and never leave it.
    public mutating func ingest(symbol: Int, bar: Bar, tradeId: Int64, tradeTimeMs: Int64) {
        precondition(history.contains(symbol: symbol), "symbol index out of range")
        assert(bar.close.isFinite && bar.high.isFinite && bar.low.isFinite, "prices are finite")
        version &+= 1
        var next = pool.firstSlot(of: symbol)
        while let slot = next {
            // States read the price leaving their window from the history, so they
            // must see the trade before the history does.
            if let outputs = states[slot].calculator.update(bar: bar, history: history, symbol: symbol) {
                states[slot].latest = IndicatorValue(
                    outputs: outputs, tradeId: tradeId, tradeTimeMs: tradeTimeMs, version: version)
            }
            next = pool.slot(after: slot)
        }
        history.append(bar, of: symbol, tradeId: tradeId, tradeTimeMs: tradeTimeMs)
    }

    // MARK: Private

    /// Frees what live states allocated at creation (the Stochastic's rings).
    deinit {
        for slot in 0..<states.count {
            states[slot].calculator.deallocate()
        }
    }

    /// (Re)starts the state in `slot`: a fresh slot, or a live one whose
    /// history was replaced (its old calculator is freed first).
    mutating func startState(in slot: Int, for key: IndicatorKey) {
        states[slot].calculator.deallocate()
        var calculator = IndicatorCalculator(key: key)
        var latest: IndicatorValue? = nil
        if let outputs = calculator.warm(from: history, symbol: key.symbol) {
            // Warming produced news for whoever batches this state next.
            version &+= 1
            let newest = history.newestTrade(of: key.symbol)
            latest = IndicatorValue(outputs: outputs, tradeId: newest.tradeId,
                                    tradeTimeMs: newest.tradeTimeMs, version: version)
        }
        states[slot] = IndicatorState(calculator: calculator, latest: latest)
    }

    /// A stale handle is a caller bug: it would otherwise read or release
    /// whichever indicator now occupies the slot.
    func liveSlot(of handle: IndicatorHandle) -> Int {
        guard let slot = pool.slot(of: handle) else {
            preconditionFailure("stale IndicatorHandle: its state was already returned to the pool")
        }
        return slot
    }
}
