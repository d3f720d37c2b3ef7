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
/// allocated once, when the state is created; updates never allocate. They
/// live in a class because `IndicatorCalculator` is a copyable enum: copies
/// share the rings, so the forming-candle `peek` here never mutates.
struct StochasticOscillator {
    /// The rings, shared by copies of the state (see above).
    private final class Rings {
        var highest: MonotonicDeque
        var lowest: MonotonicDeque
        var slowK: TrailingMean
        var slowD: TrailingMean

        init(fastK: Int, slowK: Int, slowD: Int) {
            highest = MonotonicDeque(.highest, capacity: fastK)
            lowest = MonotonicDeque(.lowest, capacity: fastK)
            self.slowK = TrailingMean(period: slowK)
            self.slowD = TrailingMean(period: slowD)
        }
    }

    let fastKPeriod: Int
    private let rings: Rings
    /// Bars seen; the sequence number of the next bar.
    private var barsSeen = 0

    init(fastK: Int, slowK: Int, slowD: Int) {
        precondition(fastK >= 1 && slowK >= 1 && slowD >= 1, "every Stochastic period is at least 1")
        fastKPeriod = fastK
        rings = Rings(fastK: fastK, slowK: slowK, slowD: slowD)
    }

    /// Feeds the next bar; returns (slow %K, slow %D) once both exist.
    mutating func update(bar: Bar) -> IndicatorOutputs? {
        let sequence = barsSeen
        barsSeen += 1
        let windowStart = sequence - fastKPeriod + 1
        rings.highest.push(bar.high, sequence: sequence, windowStart: windowStart)
        rings.lowest.push(bar.low, sequence: sequence, windowStart: windowStart)
        guard windowStart >= 0 else { return nil }
        let fastK = Self.fastK(close: bar.close, highest: rings.highest.front, lowest: rings.lowest.front)
        guard let slowK = rings.slowK.update(fastK), let slowD = rings.slowD.update(slowK) else { return nil }
        return IndicatorOutputs(slowK, slowD)
    }

    /// What `update(bar:)` would return, committing nothing.
    func peek(bar: Bar) -> IndicatorOutputs? {
        let windowStart = barsSeen - fastKPeriod + 1
        guard windowStart >= 0 else { return nil }
        let highest = rings.highest.peek(including: bar.high, windowStart: windowStart)
        let lowest = rings.lowest.peek(including: bar.low, windowStart: windowStart)
        let fastK = Self.fastK(close: bar.close, highest: highest, lowest: lowest)
        guard let slowK = rings.slowK.peek(fastK), let slowD = rings.slowD.peek(slowK) else { return nil }
        return IndicatorOutputs(slowK, slowD)
    }

    /// TA-Lib's fast %K, in its order: the range is scaled to percent first.
    static func fastK(close: Double, highest: Double, lowest: Double) -> Double {
        let onePercent = (highest - lowest) / 100.0
        return onePercent != 0 ? (close - lowest) / onePercent : 0
    }
}
