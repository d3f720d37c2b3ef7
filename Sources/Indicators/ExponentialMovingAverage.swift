/// EMA(n) exactly as TA-Lib computes it by default ("classic" seeding): the first
/// value is the SMA of the first n prices, and each later price moves the average
/// by k = 2/(n+1) of the distance between them.
///
/// Every operation follows TA-Lib's order (sum left to right then divide once;
/// `((price - ema) * k) + ema` rather than `k*price + (1-k)*ema`), so the output
/// matches TA-Lib's to the last bit, not merely to a tolerance.
struct ExponentialMovingAverage {
    private enum Phase {
        /// Summing the first `period` prices for the SMA that seeds the average.
        case seeding(priceSum: Double, pricesSeen: Int)
        /// Seeded; `average` is the current EMA.
        case smoothing(average: Double)
    }

    let period: Int
    private let periodAsDouble: Double
    /// TA-Lib's smoothing factor, 2/(n+1), computed the way TA-Lib computes it.
    private let k: Double
    private var phase = Phase.seeding(priceSum: 0, pricesSeen: 0)
    /// Round `(price - ema) * k + ema` once, as a fused multiply-add.
    private let fused: Bool

    /// - Parameter fused: step as the TA-Lib 0.8.1 wheel (the integration
    ///   tests' reference) does, whose C compiler contracts the step into one
    ///   fused multiply-add: the two differ by an ulp now and then (EMA(35) of
    ///   the fixture's BTCUSDT trades first at its 50th price). An ulp of a price
    ///   is 1e-16 of an EMA but up to 1e-8 of a MACD near zero, so MACD asks for
    ///   it; SMA/EMA/RSI subscriptions keep the unfused step they always had.
    init(period: Int, fused: Bool = false) {
        precondition(period >= 1, "an EMA spans at least one price")
        self.fused = fused
        self.period = period
        self.periodAsDouble = Double(period)
        self.k = 2.0 / Double(period + 1)
    }

    /// Feeds the next price; returns the EMA from the `period`-th price on, nil before.
    mutating func update(price: Double) -> Double? {
        switch phase {
        case .seeding(let priceSum, let pricesSeen):
            let sum = priceSum + price
            guard pricesSeen + 1 == period else {
                phase = .seeding(priceSum: sum, pricesSeen: pricesSeen + 1)
                return nil
            }
            let seed = sum / periodAsDouble
            phase = .smoothing(average: seed)
            return seed
        case .smoothing(let average):
            let next = fused ? average.addingProduct(price - average, k) : ((price - average) * k) + average
            phase = .smoothing(average: next)
            return next
        }
    }
}
