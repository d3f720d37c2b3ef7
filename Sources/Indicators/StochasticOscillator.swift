/// The slow stochastic (fastK, slowK, slowD) exactly as TA-Lib's `TA_STOCH`
/// with its default SMA smoothing.
///
/// fast %K = (close − lowest low) / ((highest high − lowest low) / 100) over
/// the last fastK bars (0 when the range is 0, as TA-Lib has it); slow %K is
/// the SMA(slowK) of fast %K and slow %D the SMA(slowD) of slow %K, both in
/// TA-Lib's running-total order (`TrailingMean`). TA-Lib outputs slow %K only
/// where slow %D exists, fastK + slowK + slowD − 2 bars in; so does this.
///
/// The window's extremes come from two monotonic deques (O(1) amortized).
/// Their rings and the two means' rings are sized by the parameters and
/// allocated once, when the state is created; updates never allocate, and
/// the engine frees them (`deallocate()`) when the state leaves its slot.
/// Copies of the state share the rings, so the forming-candle `peek` here
/// never mutates.
struct StochasticOscillator {
    let fastKPeriod: Int
    private var highest: MonotonicDeque
    private var lowest: MonotonicDeque
    private var slowK: TrailingMean
    private var slowD: TrailingMean
    /// Bars seen; the sequence number of the next bar.
    private var barsSeen = 0

    init(fastK: Int, slowK: Int, slowD: Int) {
        precondition(fastK >= 1 && slowK >= 1 && slowD >= 1, "every Stochastic period is at least 1")
        fastKPeriod = fastK
        highest = MonotonicDeque(.highest, capacity: fastK)
        lowest = MonotonicDeque(.lowest, capacity: fastK)
        self.slowK = TrailingMean(period: slowK)
        self.slowD = TrailingMean(period: slowD)
    }

    /// Frees the rings; the state must not be used again.
    func deallocate() {
        highest.deallocate()
        lowest.deallocate()
        slowK.deallocate()
        slowD.deallocate()
    }

    /// Feeds the next bar; returns (slow %K, slow %D) once both exist.
    mutating func update(bar: Bar) -> IndicatorOutputs? {
        let sequence = barsSeen
        barsSeen += 1
        let windowStart = sequence - fastKPeriod + 1
        highest.push(bar.high, sequence: sequence, windowStart: windowStart)
        lowest.push(bar.low, sequence: sequence, windowStart: windowStart)
        guard windowStart >= 0 else { return nil }
        let fastK = Self.fastK(close: bar.close, highest: highest.front, lowest: lowest.front)
        guard let slowK = slowK.update(fastK), let slowD = slowD.update(slowK) else { return nil }
        return IndicatorOutputs(slowK, slowD)
    }

    /// What `update(bar:)` would return, committing nothing.
    func peek(bar: Bar) -> IndicatorOutputs? {
        let windowStart = barsSeen - fastKPeriod + 1
        guard windowStart >= 0 else { return nil }
        let highest = highest.peek(including: bar.high, windowStart: windowStart)
        let lowest = lowest.peek(including: bar.low, windowStart: windowStart)
        let fastK = Self.fastK(close: bar.close, highest: highest, lowest: lowest)
        guard let slowK = slowK.peek(fastK), let slowD = slowD.peek(slowK) else { return nil }
        return IndicatorOutputs(slowK, slowD)
    }

    /// TA-Lib's fast %K, in its order: the range is scaled to percent first.
    static func fastK(close: Double, highest: Double, lowest: Double) -> Double {
        let onePercent = (highest - lowest) / 100.0
        return onePercent != 0 ? (close - lowest) / onePercent : 0
    }
}
