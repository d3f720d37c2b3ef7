/// MACD(fast, slow, signal) exactly as TA-Lib's `TA_MACD` computes it.
///
/// macd = EMA(fast) − EMA(slow); signal = EMA(signal) of macd; histogram =
/// macd − signal. TA-Lib seeds *both* price EMAs on windows ending at the same
/// bar, the slow period's last: the slow EMA on the SMA of prices 1...slow, the
/// fast one on the SMA of prices slow−fast+1...slow, not of the first `fast`
/// prices as a standalone EMA would. So the fast EMA here skips the first
/// slow − fast prices. TA-Lib outputs nothing until the signal EMA is seeded,
/// slow + signal − 1 prices in, and neither does this. Each EMA step is one
/// fused multiply-add, as in TA-Lib 0.8.1's build, so the outputs match it
/// bit for bit even where the MACD is near zero.
struct MovingAverageConvergenceDivergence {
    /// Prices the fast EMA skips so that both EMAs seed at the same bar.
    private let fastLeadIn: Int
    /// Prices seen, counted only up to `fastLeadIn` (it never needs more).
    private var leadInSeen = 0
    private var fast: ExponentialMovingAverage
    private var slow: ExponentialMovingAverage
    private var signal: ExponentialMovingAverage

    init(fast: Int, slow: Int, signal: Int) {
        precondition(fast >= 2 && slow > fast && signal >= 1, "MACD needs 2 ≤ fast < slow and signal ≥ 1")
        fastLeadIn = slow - fast
        // Fused steps: TA-Lib's, to the last bit (see `ExponentialMovingAverage.init`).
        self.fast = ExponentialMovingAverage(period: fast, fused: true)
        self.slow = ExponentialMovingAverage(period: slow, fused: true)
        self.signal = ExponentialMovingAverage(period: signal, fused: true)
    }

    /// Feeds the next price; returns (macd, signal, histogram) once the signal is seeded.
    mutating func update(price: Double) -> IndicatorOutputs? {
        let slowValue = slow.update(price: price)
        var fastValue: Double?
        if leadInSeen == fastLeadIn {
            fastValue = fast.update(price: price)
        } else {
            leadInSeen += 1
        }
        guard let slowValue, let fastValue else { return nil }
        let line = fastValue - slowValue
        guard let signalValue = signal.update(price: line) else { return nil }
        return IndicatorOutputs(line, signalValue, line - signalValue)
    }
}
