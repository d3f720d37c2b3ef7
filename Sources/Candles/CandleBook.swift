import Indicators
import MarketData

/// Every (symbol, interval)'s candles, and the indicators computed on their closes.
///
/// All thirteen intervals of every symbol are built from the first trade on,
/// so any interval a client asks for later already has its forming candle and
/// its history (a late subscriber never waits for a close). A trade costs
/// O(intervals) = O(1) and allocates nothing; everything is allocated in `init`.
///
/// Indicators on candles reuse the per-trade `IndicatorEngine` unchanged: its
/// "symbols" are this book's series (symbol × interval) and its "prices" are
/// the closes, so one state is shared per (symbol, interval, kind, period) and
/// a new one warms from the closes held, exactly as per-trade states do.
public struct CandleBook: ~Copyable {
    public let symbolCount: Int
    /// How long after a candle's end the clock closes it, for trades stamped
    /// before the boundary that arrive after it (see docs/candles.md).
    public let graceMs: Int64
    /// Series of symbol `s`, interval `i`: `series[s * intervalCount + i.ordinal]`.
    private var series: [CandleSeries]
    private var indicators: IndicatorEngine

    static let intervalCount = CandleInterval.allCases.count
    /// Enough flat closes to fill the history and settle any indicator.
    let maxCatchUpCloses: Int
    /// Empty candles skipped by that bound, not closed.
    public private(set) var skippedEmptyCandles: Int64 = 0

    public init(symbolCount: Int, historyCapacity: Int, maxPeriod: Int, maxIndicators: Int, graceMs: Int64) {
        precondition(symbolCount > 0 && historyCapacity >= 2 && graceMs >= 0)
        self.symbolCount = symbolCount
        self.graceMs = graceMs
        maxCatchUpCloses = max(historyCapacity, 2 * maxPeriod, 1_000)
        var all: [CandleSeries] = []
        all.reserveCapacity(symbolCount * Self.intervalCount)
        for _ in 0..<symbolCount {
            for interval in CandleInterval.allCases {
                all.append(CandleSeries(interval: interval, historyCapacity: historyCapacity))
            }
        }
        series = all
        // The SMA reads the close leaving its window from the engine's history,
        // so the longest period is bounded by the candles kept.
        indicators = IndicatorEngine(symbolCount: symbolCount * Self.intervalCount,
                                     historyCapacity: historyCapacity,
                                     maxPeriod: max(2, min(maxPeriod, historyCapacity)),
                                     maxIndicators: maxIndicators)
    }

    public var historyCapacity: Int { indicators.historyCapacity }
    public var maxPeriod: Int { indicators.maxPeriod }

    /// Bytes held for candles and their closes, allocated at startup (for /metrics).
    public var memoryBytes: Int {
        let perSeries = historyCapacity * (MemoryLayout<Candle>.stride + MemoryLayout<Bar>.stride)
            + MemoryLayout<CandleSeries>.stride
        return series.count * perSeries
    }

    // MARK: Trades and the clock

    /// Applies one trade to every interval of its symbol: first closing each
    /// candle the trade's time proves over (with the empty ones between), then
    /// folding the trade into the forming candle. For callers that need not
    /// act between closes; the engine steps with `closeNextEnded` and `apply`.
    public mutating func ingest(_ trade: Trade) {
        closeEnded(symbol: trade.symbolIndex, by: trade.tradeTimeMs)
        apply(trade)
    }

    /// Folds a trade into every interval's forming candle of its symbol; the
    /// candles it ended were closed first (`closeNextEnded`).
    public mutating func apply(_ trade: Trade) {
        let first = trade.symbolIndex * Self.intervalCount
        for index in first..<first + Self.intervalCount {
            series[index].apply(trade)
        }
    }

    /// Closes the candle of `symbol` that ended first among those ended
    /// before `timeMs` (so closes go out in time order across intervals),
    /// feeding its close to the indicators. False when none has: the
    /// per-trade cost is then 13 compares. Stepping one close at a time lets
    /// the engine send each close's candles and values before the next (two
    /// closes in one step would share one indicator value).
    public mutating func closeNextEnded(symbol: Int, by timeMs: Int64) -> Bool {
        let first = symbol * Self.intervalCount
        var earliest: (index: Int, closeTimeMs: Int64)?
        for index in first..<first + Self.intervalCount {
            guard let closeTimeMs = series[index].formingCloseTimeMs, closeTimeMs < timeMs else { continue }
            if earliest == nil || closeTimeMs < earliest!.closeTimeMs {
                earliest = (index, closeTimeMs)
            }
        }
        guard let index = earliest?.index, let candle = series[index].closeForming(ifEndedBy: timeMs) else {
            return false
        }
        indicators.ingest(symbol: index, bar: candle.bar, tradeId: candle.lastTradeId,
                          tradeTimeMs: candle.closeTimeMs)
        return true
    }

    /// The most closes one catch-up of a symbol makes before skipping: a
    /// clock far ahead of a series' last trade (a 1s series silent for a day,
    /// a recording replayed years later) then skips the rest of the flat,
    /// empty candles instead of stalling the loop on them.
    public var catchUpLimit: Int { maxCatchUpCloses * Self.intervalCount }

    /// Moves every empty forming candle of `symbol` to the interval holding
    /// `timeMs` without closing the ones between (after `catchUpLimit` closes).
    public mutating func skipEmpty(symbol: Int, toContaining timeMs: Int64) {
        let first = symbol * Self.intervalCount
        for index in first..<first + Self.intervalCount {
            skippedEmptyCandles += series[index].skipEmpty(toContaining: timeMs)
        }
    }

    /// Closes every candle of `symbol` that ended before `timeMs`, within the catch-up limit.
    public mutating func closeEnded(symbol: Int, by timeMs: Int64) {
        var closes = 0
        while closeNextEnded(symbol: symbol, by: timeMs) {
            closes += 1
            if closes == catchUpLimit {
                skipEmpty(symbol: symbol, toContaining: timeMs)
                return
            }
        }
    }

    /// Closes every candle whose end plus the grace the clock has passed, and
    /// returns the next such deadline (nil before the first trade).
    public mutating func advanceClock(toUnixMs nowMs: Int64) -> Int64? {
        for symbol in 0..<symbolCount {
            closeEnded(symbol: symbol, by: nowMs - graceMs)
        }
        return nextCloseDeadline
    }

    /// The earliest forming candle's end plus the grace.
    public var nextCloseDeadline: Int64? {
        var next: Int64?
        for index in series.indices {
            if let deadline = series[index].closeDeadline(graceMs: graceMs) {
                next = min(next ?? deadline, deadline)
            }
        }
        return next
    }

    // MARK: Reading

    public func seriesIndex(symbol: Int, interval: CandleInterval) -> Int {
        precondition(symbol >= 0 && symbol < symbolCount, "symbol index out of range")
        return symbol * Self.intervalCount + interval.ordinal
    }

    public func forming(symbol: Int, interval: CandleInterval) -> Candle? {
        series[seriesIndex(symbol: symbol, interval: interval)].forming
    }

    public func lastClosed(symbol: Int, interval: CandleInterval) -> Candle? {
        series[seriesIndex(symbol: symbol, interval: interval)].lastClosed
    }

    /// Candles closed since startup; compare with the count last sent.
    public func closedCount(symbol: Int, interval: CandleInterval) -> Int64 {
        series[seriesIndex(symbol: symbol, interval: interval)].closedCount
    }

    /// The closed candle `back` places before the newest; `back < closedHeld`.
    public func closedCandle(symbol: Int, interval: CandleInterval, back: Int) -> Candle {
        series[seriesIndex(symbol: symbol, interval: interval)].closedCandle(back: back)
    }

    public func closedHeld(symbol: Int, interval: CandleInterval) -> Int {
        series[seriesIndex(symbol: symbol, interval: interval)].closedHeld
    }

    /// The closed candles held, oldest first (allocates: tests and cold paths).
    public func closedCandles(symbol: Int, interval: CandleInterval) -> [Candle] {
        series[seriesIndex(symbol: symbol, interval: interval)].closedCandles
    }

    /// Trades left out of candles because their candle had already closed.
    public var lateTrades: Int64 {
        series.reduce(0) { $0 + $1.lateTrades }
    }

    // MARK: Warm-up

    /// Check before joining (see `CandleSeries.seed`); a joined history also
    /// re-warms the series' indicators from the closes now held.
    public mutating func seed(symbol: Int, interval: CandleInterval, history: [Candle], nowMs: Int64) -> SeedOutcome {
        let index = seriesIndex(symbol: symbol, interval: interval)
        let outcome = series[index].seed(history: history, nowMs: nowMs)
        if case .joined = outcome {
            let candles = series[index].closedCandles
            let newest = candles.last
            indicators.replaceHistory(of: index, with: candles.map(\.bar),
                                      newestTradeId: newest?.lastTradeId ?? -1,
                                      newestTradeTimeMs: newest?.closeTimeMs ?? 0)
        }
        return outcome
    }

    // MARK: Indicators on closes

    public mutating func subscribe(symbol: Int, interval: CandleInterval, kind: IndicatorKind, period: Int,
                                   parameters: IndicatorParameters = .none)
        -> Result<IndicatorHandle, SubscribeError>
    {
        indicators.subscribe(symbol: seriesIndex(symbol: symbol, interval: interval), kind: kind, period: period,
                             parameters: parameters)
    }

    public mutating func unsubscribe(_ handle: IndicatorHandle) {
        indicators.unsubscribe(handle)
    }

    /// The value on closed candles only; nil while warming. Its `tradeTimeMs`
    /// is the close time of the candle that produced it.
    public func value(of handle: IndicatorHandle) -> IndicatorValue? {
        indicators.value(of: handle)
    }

    /// The provisional outputs: the closed candles plus the forming one as it
    /// stands (its close, high, low and volumes so far), committing nothing
    /// (TA-Lib's streaming Peek). Nil while warming, or before the series'
    /// first trade.
    public func peek(_ handle: IndicatorHandle) -> IndicatorOutputs? {
        let index = indicators.key(of: handle).symbol
        guard let forming = series[index].forming else { return nil }
        return indicators.peek(handle, bar: forming.bar)
    }

    /// Bumped whenever any candle-indicator value changes (see `IndicatorEngine.version`).
    public var indicatorVersion: UInt64 { indicators.version }
    public var activeIndicatorCount: Int { indicators.activeIndicatorCount }
}
