/// ATR(n) exactly as TA-Lib's `TA_ATR` computes it: Wilder's smoothing of the
/// true range, max(high − low, |high − previous close|, |low − previous close|).
///
/// The first bar has no previous close, so the first true range is the
/// second bar's. TA-Lib seeds the average with the plain mean of the first n
/// true ranges (summed left to right, divided once), so the first ATR comes
/// with bar n + 1; after that atr = (atr × (n − 1) + tr) / n, in that order.
struct AverageTrueRange {
    private enum Phase {
        /// No bar yet, so no previous close.
        case awaitingFirstBar
        /// Summing the first `period` true ranges for the seed.
        case seeding(previousClose: Double, rangeSum: Double, rangesSeen: Int)
        /// Seeded; `average` is the current ATR.
        case smoothing(previousClose: Double, average: Double)
    }

    let period: Int
    private let periodAsDouble: Double
    private let periodMinusOne: Double
    private var phase = Phase.awaitingFirstBar

    init(period: Int) {
        precondition(period >= 2, "an ATR spans at least two true ranges")
        self.period = period
        periodAsDouble = Double(period)
        periodMinusOne = Double(period - 1)
    }

    mutating func update(bar: Bar) -> Double? {
        switch phase {
        case .awaitingFirstBar:
            phase = .seeding(previousClose: bar.close, rangeSum: 0, rangesSeen: 0)
            return nil
        case .seeding(let previousClose, let rangeSum, let rangesSeen):
            let sum = rangeSum + Self.trueRange(bar, previousClose: previousClose)
            guard rangesSeen + 1 == period else {
                phase = .seeding(previousClose: bar.close, rangeSum: sum, rangesSeen: rangesSeen + 1)
                return nil
            }
            let seed = sum / periodAsDouble
            phase = .smoothing(previousClose: bar.close, average: seed)
            return seed
        case .smoothing(let previousClose, let average):
            let next = (average * periodMinusOne + Self.trueRange(bar, previousClose: previousClose)) / periodAsDouble
            phase = .smoothing(previousClose: bar.close, average: next)
            return next
        }
    }

    /// TA-Lib's TRANGE, comparing in its order.
    static func trueRange(_ bar: Bar, previousClose: Double) -> Double {
        var greatest = bar.high - bar.low
        let fromHigh = abs(previousClose - bar.high)
        if fromHigh > greatest { greatest = fromHigh }
        let fromLow = abs(previousClose - bar.low)
        if fromLow > greatest { greatest = fromLow }
        return greatest
    }
}
