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
    /// MACD's three EMAs (out of line: see `OutOfLineState`).
    case macd(OutOfLineState<MovingAverageConvergenceDivergence>)
    /// Bollinger Bands, which read their leaving price from the history like
    /// the SMA (out of line: 128-bit sums would double the enum's size).
    case bollinger(OutOfLineState<BollingerBands>)
    /// Wilder's average true range.
    case atr(AverageTrueRange)
    /// The slow stochastic, with its rings (out of line: see `OutOfLineState`).
    case stochastic(OutOfLineState<StochasticOscillator>)
    /// VWAP, whose day sums live in the history.
    case vwap(VolumeWeightedAveragePrice)

    /// A fresh calculator for `key`, whose parameters were validated by the caller.
    init(key: IndicatorKey) {
        switch (key.kind, key.parameters) {
        case (.sma, _): self = .sma(SimpleMovingAverage(period: key.period))
        case (.ema, _): self = .ema(ExponentialMovingAverage(period: key.period))
        case (.rsi, _): self = .rsi(RelativeStrengthIndex(period: key.period))
        case (.atr, _): self = .atr(AverageTrueRange(period: key.period))
        case (.macd, .macd(let fast, let slow, let signal)):
            self = .macd(OutOfLineState(MovingAverageConvergenceDivergence(fast: fast, slow: slow, signal: signal)))
        case (.bollinger, .bollinger(let up, let down)):
            self = .bollinger(OutOfLineState(BollingerBands(period: key.period, deviationsUp: up, deviationsDown: down)))
        case (.stochastic, .stochastic(let fastK, let slowK, let slowD)):
            self = .stochastic(OutOfLineState(StochasticOscillator(fastK: fastK, slowK: slowK, slowD: slowD)))
        case (.vwap, .vwap(let anchor)): self = .vwap(VolumeWeightedAveragePrice(anchor: anchor))
        case (.macd, _), (.bollinger, _), (.stochastic, _), (.vwap, _):
            preconditionFailure("\(key.kind) with parameters \(key.parameters)")
        }
    }

    /// Feeds the symbol's next bar and returns the new outputs, or nil while warming.
    ///
    /// Call it *before* the bar enters `history`: the SMA and the bands read the
    /// price that leaves their window from the ring, and with a ring exactly
    /// `period` long the append would overwrite it; VWAP reads the day's sums
    /// before the bar.
    ///
    /// Always inlined into `IndicatorEngine.ingest`: as a call, the nine-case
    /// switch and its result cost 15 ns more per (indicator, trade) in the
    /// 30-indicator benchmark (420 → 185–228 ns per trade).
    @inline(__always)
    mutating func update(bar: Bar, history: borrowing PriceHistory, symbol: Int) -> IndicatorOutputs? {
        switch self {
        case .sma(var average):
            let value = average.update(price: bar.close,
                                       leavingPrice: Self.leavingPrice(average.period, history, symbol))
            self = .sma(average)
            return value.map(IndicatorOutputs.init)
        case .ema(var average):
            let value = average.update(price: bar.close)
            self = .ema(average)
            return value.map(IndicatorOutputs.init)
        case .rsi(var index):
            let value = index.update(price: bar.close)
            self = .rsi(index)
            return value.map(IndicatorOutputs.init)
        case .macd(let macd):
            return macd.mutate { $0.update(price: bar.close) }
        case .bollinger(let bands):
            let leavingPrice = Self.leavingPrice(bands.value.period, history, symbol)
            return bands.mutate { $0.update(price: bar.close, leavingPrice: leavingPrice) }
        case .atr(var range):
            let value = range.update(bar: bar)
            self = .atr(range)
            return value.map(IndicatorOutputs.init)
        case .stochastic(let oscillator):
            return oscillator.mutate { $0.update(bar: bar) }
        case .vwap(let vwap):
            return vwap.value(after: bar, day: history.day(of: symbol)).map(IndicatorOutputs.init)
        case .vacant:
            preconditionFailure("a vacant slot is never on a symbol's list")
        }
    }

    /// Frees what the state allocated when it was created (the Stochastic's
    /// rings); call once, when the state leaves its slot.
    func deallocate() {
        switch self {
        case .macd(let macd): macd.deallocate()
        case .bollinger(let bands): bands.deallocate()
        case .stochastic(let oscillator):
            oscillator.value.deallocate()
            oscillator.deallocate()
        default: break
        }
    }

    /// The outputs `update` would return for `bar`, committing nothing:
    /// TA-Lib's streaming Peek. Inline calculators are plain values, so
    /// updating a copy is the whole trick; MACD's and the bands' out-of-line
    /// states are copied out and updated; the Stochastic's rings are shared by every copy, so it
    /// peeks without mutating.
    func peek(bar: Bar, history: borrowing PriceHistory, symbol: Int) -> IndicatorOutputs? {
        switch self {
        case .stochastic(let oscillator):
            return oscillator.value.peek(bar: bar)
        case .macd(let macd):
            var copy = macd.value
            return copy.update(price: bar.close)
        case .bollinger(let bands):
            var copy = bands.value
            return copy.update(price: bar.close, leavingPrice: Self.leavingPrice(copy.period, history, symbol))
        default:
            var copy = self
            return copy.update(bar: bar, history: history, symbol: symbol)
        }
    }

    /// Brings a fresh calculator up to date with everything `history` holds, so a
    /// new state has a value at once when the history is long enough. Returns the
    /// outputs after the newest bar, or nil if it is still warming.
    ///
    /// The SMA and the bands need only the last `period` prices, and VWAP only
    /// the day's sums. The others depend on every bar they have seen, so they
    /// replay the whole ring from its oldest bar: the best approximation of a
    /// state that had been running since startup.
    mutating func warm(from history: borrowing PriceHistory, symbol: Int) -> IndicatorOutputs? {
        let held = history.count(of: symbol)
        var outputs: IndicatorOutputs? = nil
        switch self {
        case .sma(var average):
            assert(average.pricesInWindow == 0, "warm only a fresh calculator")
            for index in max(0, held - average.period)..<held {
                outputs = average.update(price: history.price(of: symbol, fromOldest: index), leavingPrice: nil)
                    .map(IndicatorOutputs.init)
            }
            self = .sma(average)
        case .bollinger(let bands):
            assert(bands.value.pricesInWindow == 0, "warm only a fresh calculator")
            for index in max(0, held - bands.value.period)..<held {
                let price = history.price(of: symbol, fromOldest: index)
                outputs = bands.mutate { $0.update(price: price, leavingPrice: nil) }
            }
        case .vwap(let vwap):
            if held > 0 {
                outputs = history.day(of: symbol).weightedPrice.map(IndicatorOutputs.init)
                if vwap.anchor == .candle {
                    let newest = history.bar(of: symbol, back: 0)
                    outputs = newest.volume > 0 ? IndicatorOutputs(newest.quoteVolume / newest.volume) : nil
                }
            }
        case .ema, .rsi, .macd, .atr, .stochastic:
            // The history is read-only here, and each of these ignores it.
            for index in 0..<held {
                outputs = update(bar: history.bar(of: symbol, fromOldest: index), history: history, symbol: symbol)
            }
        case .vacant:
            preconditionFailure("cannot warm a vacant slot")
        }
        return outputs
    }

    /// The price `period` bars back, which leaves a full window; nil while it fills.
    /// The window holds min(count, period) prices (see `warm`), so it is full
    /// exactly when the ring holds at least `period`.
    private static func leavingPrice(_ period: Int, _ history: borrowing PriceHistory, _ symbol: Int) -> Double? {
        history.count(of: symbol) >= period ? history.price(of: symbol, back: period - 1) : nil
    }
}
