/// RSI(n) exactly as TA-Lib computes it by default (Wilder's smoothing, no
/// Metastock shift, no unstable period).
///
/// The first average gain and loss are the plain means of the first n price
/// changes; after that each is smoothed as avg = (avg*(n-1) + change)/n. The
/// index is 100*gain/(gain+loss), TA-Lib's equivalent of 100 - 100/(1 + RS).
///
/// Every operation follows the order of TA-Lib 0.8 (the library `pip install
/// ta-lib` ships, and the integration tests' reference): multiply both averages
/// by n-1, add the change to one of them, then scale both by a precomputed 1/n.
/// The output matches it to the last bit. TA-Lib 0.4–0.6 divide by n instead,
/// which differs in the last bits only (about 1e-14 relative).
struct RelativeStrengthIndex {
    private enum Phase {
        /// No price yet, so no change to measure.
        case awaitingFirstPrice
        /// Summing the first `period` changes for the simple means that seed the averages.
        case seeding(previousPrice: Double, gainSum: Double, lossSum: Double, changesSeen: Int)
        /// Seeded; both averages follow Wilder's smoothing.
        case smoothing(previousPrice: Double, averageGain: Double, averageLoss: Double)
    }

    let period: Int
    /// TA-Lib 0.8 multiplies by 1/n rather than dividing by n; see above.
    private let reciprocalPeriod: Double
    private let periodMinusOne: Double
    private var phase = Phase.awaitingFirstPrice

    init(period: Int) {
        precondition(period >= 2, "an RSI spans at least two price changes")
        self.period = period
        self.reciprocalPeriod = 1.0 / Double(period)
        self.periodMinusOne = Double(period - 1)
    }

    /// Feeds the next price; returns the RSI from the `period + 1`-th price on, nil before.
    mutating func update(price: Double) -> Double? {
        switch phase {
        case .awaitingFirstPrice:
            phase = .seeding(previousPrice: price, gainSum: 0, lossSum: 0, changesSeen: 0)
            return nil
        case .seeding(let previousPrice, var gainSum, var lossSum, let changesSeen):
            Self.book(change: price - previousPrice, gain: &gainSum, loss: &lossSum)
            guard changesSeen + 1 == period else {
                phase = .seeding(previousPrice: price, gainSum: gainSum, lossSum: lossSum,
                                 changesSeen: changesSeen + 1)
                return nil
            }
            let averageGain = gainSum * reciprocalPeriod
            let averageLoss = lossSum * reciprocalPeriod
            phase = .smoothing(previousPrice: price, averageGain: averageGain, averageLoss: averageLoss)
            return Self.index(averageGain: averageGain, averageLoss: averageLoss)
        case .smoothing(let previousPrice, var averageGain, var averageLoss):
            averageGain *= periodMinusOne
            averageLoss *= periodMinusOne
            Self.book(change: price - previousPrice, gain: &averageGain, loss: &averageLoss)
            averageGain *= reciprocalPeriod
            averageLoss *= reciprocalPeriod
            phase = .smoothing(previousPrice: price, averageGain: averageGain, averageLoss: averageLoss)
            return Self.index(averageGain: averageGain, averageLoss: averageLoss)
        }
    }

    /// Adds a change to the gain or the loss side. Like TA-Lib, an unchanged
    /// price counts as a zero gain, and a loss is booked as a positive amount.
    private static func book(change: Double, gain: inout Double, loss: inout Double) {
        if change < 0 {
            loss -= change
        } else {
            gain += change
        }
    }

    /// 100*gain/(gain+loss); 0 when there has been no movement at all, as TA-Lib
    /// outputs for flat prices.
    ///
    /// "No movement" means a sum of exactly zero, which is what TA-Lib 0.8 (the
    /// library `pip install ta-lib` ships, and the integration tests' reference)
    /// does. TA-Lib 0.4–0.6 instead treated any sum below 1e-8 as zero; the two
    /// differ only after long flat runs, where both averages decay towards zero.
    static func index(averageGain: Double, averageLoss: Double) -> Double {
        let total = averageGain + averageLoss
        return total == 0 ? 0 : 100 * (averageGain / total)
    }
}
