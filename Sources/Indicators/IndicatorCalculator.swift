/// One indicator's arithmetic, closed over the kinds Tickwire serves so the
/// per-trade loop dispatches with a `switch` instead of through an existential.
enum IndicatorCalculator {
    /// The slot is on the pool's free list; no symbol ever feeds it.
    case vacant
    /// A simple moving average, which reads its leaving price from the history.
    case sma(SimpleMovingAverage)
    /// An exponential moving average.
    case ema(ExponentialMovingAverage)
    /// A relative strength index.
    case rsi(RelativeStrengthIndex)

    init(kind: IndicatorKind, period: Int) {
        switch kind {
        case .sma: self = .sma(SimpleMovingAverage(period: period))
        case .ema: self = .ema(ExponentialMovingAverage(period: period))
        case .rsi: self = .rsi(RelativeStrengthIndex(period: period))
        }
    }

    /// Feeds the symbol's next price and returns the new value, or nil while warming.
    ///
    /// Call it *before* the price enters `history`: the SMA reads the price that
    /// leaves its window from the ring, and with a ring exactly `period` long the
    /// append would overwrite it.
    mutating func update(price: Double, history: borrowing PriceHistory, symbol: Int) -> Double? {
        switch self {
        case .sma(var average):
            // The window holds min(count, period) prices (see `warm`), so it is full
            // exactly when the ring holds at least `period`.
            let leavingPrice = history.count(of: symbol) >= average.period
                ? history.price(of: symbol, back: average.period - 1)
                : nil
            let value = average.update(price: price, leavingPrice: leavingPrice)
            self = .sma(average)
            return value
        case .ema(var average):
            let value = average.update(price: price)
            self = .ema(average)
            return value
        case .rsi(var index):
            let value = index.update(price: price)
            self = .rsi(index)
            return value
        case .vacant:
            preconditionFailure("a vacant slot is never on a symbol's list")
        }
    }

    /// Brings a fresh calculator up to date with everything `history` holds, so a
    /// new state has a value at once when the history is long enough. Returns the
    /// value after the newest price, or nil if it is still warming.
    ///
    /// The SMA needs only the last `period` prices. EMA and RSI depend on every
    /// price they have seen, so they replay the whole ring from its oldest price:
    /// the best approximation of a state that had been running since startup.
    mutating func warm(from history: borrowing PriceHistory, symbol: Int) -> Double? {
        let held = history.count(of: symbol)
        var value: Double? = nil
        switch self {
        case .sma(var average):
            assert(average.pricesInWindow == 0, "warm only a fresh calculator")
            for index in max(0, held - average.period)..<held {
                value = average.update(price: history.price(of: symbol, fromOldest: index), leavingPrice: nil)
            }
            self = .sma(average)
        case .ema(var average):
            for index in 0..<held {
                value = average.update(price: history.price(of: symbol, fromOldest: index))
            }
            self = .ema(average)
        case .rsi(var rsi):
            for index in 0..<held {
                value = rsi.update(price: history.price(of: symbol, fromOldest: index))
            }
            self = .rsi(rsi)
        case .vacant:
            preconditionFailure("cannot warm a vacant slot")
        }
        return value
    }
}
