/// Check before joining: fetched klines (Binance's `klines` method) become the
/// series' past only when they agree with what was built from trades.
extension CandleSeries {
    /// Joins `history` (fetched klines, oldest first, any `isClosed`) to the
    /// candles built from trades, or refuses and changes nothing.
    ///
    /// - Klines not closed by `nowMs`, or at or after the forming candle's
    ///   open, are dropped: trades build those.
    /// - Built candles seen whole must equal the kline of the same open time
    ///   (see `CandleComparison`); the one the first trade fell in must be
    ///   contained in it, and is replaced by it.
    /// - The history must reach the built candles without a gap.
    ///
    /// Pure and synchronous: the caller (the live fetch) logs and counts a refusal.
    public mutating func seed(history: [Candle], nowMs: Int64) -> SeedOutcome {
        let span = interval.durationMs
        let formingOpen = forming?.openTimeMs ?? interval.openTime(containing: nowMs)
        let usable = history.filter { $0.closeTimeMs < nowMs && $0.openTimeMs < formingOpen }
        guard let last = usable.last else { return .refused(.empty) }
        if let refusal = Self.shapeRefusal(usable, interval: interval) { return .refused(refusal) }

        // Built candles from `whole` on saw every trade of their interval.
        let whole = firstWholeOpenMs ?? formingOpen + span
        let needed = min(whole, formingOpen) - span
        if forming != nil, last.openTimeMs < needed {
            return .refused(.leavesGap(lastFetchedOpenMs: last.openTimeMs, neededOpenMs: needed))
        }
        let built = closed.all
        var agreed = 0
        let firstFetchedOpen = usable[0].openTimeMs
        for candle in built where candle.openTimeMs >= firstFetchedOpen && candle.openTimeMs <= last.openTimeMs {
            let fetched = usable[Int((candle.openTimeMs - firstFetchedOpen) / span)]
            let field = candle.openTimeMs >= whole
                ? CandleComparison.firstDifference(built: candle, fetched: fetched)
                : CandleComparison.firstContradiction(partial: candle, fetched: fetched)
            if let field { return .refused(.disagrees(openTimeMs: candle.openTimeMs, field: field)) }
            if candle.openTimeMs >= whole { agreed += 1 }
        }

        // Fetched candles before the first whole one, then the built ones from it on.
        let fetchedPart = usable.filter { $0.openTimeMs < whole }.map { candle -> Candle in
            var joined = candle
            joined.isClosed = true
            return joined
        }
        let keptPart = built.filter { $0.openTimeMs >= whole }
        closed.replace(with: fetchedPart + keptPart)
        if forming == nil {
            // No trade yet: the next candle starts flat at the fetched close.
            formingCandle = .empty(openTimeMs: last.closeTimeMs + 1, interval: interval, previousClose: last.close)
            hasForming = true
            firstWholeOpenMs = whole
        }
        return .joined(added: fetchedPart.count, agreed: agreed)
    }

    /// Every kline on this interval's grid, each one interval after the previous.
    private static func shapeRefusal(_ klines: [Candle], interval: CandleInterval) -> SeedRefusal? {
        var previousOpen: Int64?
        for kline in klines {
            let open = kline.openTimeMs
            guard interval.openTime(containing: open) == open,
                  kline.closeTimeMs == open + interval.durationMs - 1
            else { return .misaligned(openTimeMs: open) }
            if let previousOpen, open != previousOpen + interval.durationMs {
                return .notContiguous(openTimeMs: open)
            }
            previousOpen = open
        }
        return nil
    }
}
