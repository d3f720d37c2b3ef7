/// Provisional values and history replacement, for indicators whose "prices"
/// are the closes of a candle series (the `Candles` target keeps one engine
/// whose symbols are its (symbol, interval) series).
extension IndicatorEngine {
    /// The value the handle's state would have if `price` were its next price,
    /// committing nothing: TA-Lib's streaming `Peek`.
    public func peek(_ handle: IndicatorHandle, price: Double) -> Double? {
        peek(handle, bar: .trade(price: price, quantity: 0, timeMs: history.newestTrade(of: key(of: handle).symbol).tradeTimeMs))?.first
    }

    /// The outputs the handle's state would have if `bar` were its next bar,
    /// committing nothing (see `IndicatorCalculator.peek`); the SMA and the
    /// bands read the price leaving their window from the history exactly as
    /// `ingest` would.
    public func peek(_ handle: IndicatorHandle, bar: Bar) -> IndicatorOutputs? {
        let slot = liveSlot(of: handle)
        let symbol = key(of: handle).symbol
        return states[slot].calculator.peek(bar: bar, history: history, symbol: symbol)
    }

    /// Replaces everything `symbol`'s history holds with `bars` (oldest
    /// first; only the newest `historyCapacity` are kept) and warms every
    /// state of the symbol again from it, as a new state would be. For a
    /// candle series whose past was joined to fetched klines: a cold path,
    /// O(states × history).
    public mutating func replaceHistory(of symbol: Int, with bars: [Bar],
                                        newestTradeId: Int64, newestTradeTimeMs: Int64) {
        precondition(history.contains(symbol: symbol), "symbol index out of range")
        history.clear(symbol: symbol)
        for bar in bars.suffix(historyCapacity) {
            history.append(bar, of: symbol, tradeId: newestTradeId, tradeTimeMs: newestTradeTimeMs)
        }
        var next = pool.firstSlot(of: symbol)
        while let slot = next {
            startState(in: slot, for: pool.key(of: slot))
            next = pool.slot(after: slot)
        }
    }
}
