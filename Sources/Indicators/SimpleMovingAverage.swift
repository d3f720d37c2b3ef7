/// SMA(n): the mean of the last n prices.
///
/// The window's prices live in the symbol's `PriceHistory`, not here: the state
/// keeps only the running window sum, and the caller hands in the price leaving
/// the window. An update therefore costs O(1) whatever the period.
struct SimpleMovingAverage {
    let period: Int
    private let periodAsDouble: Double
    private var windowSum = CompensatedSum()
    /// Prices in the window so far; reaches `period` at warm-up and stays there.
    private(set) var pricesInWindow = 0

    init(period: Int) {
        precondition(period >= 1, "an SMA spans at least one price")
        self.period = period
        self.periodAsDouble = Double(period)
    }

    var isWindowFull: Bool { pricesInWindow == period }

    /// Slides the window onto `price`. `leavingPrice` is the price `period`
    /// trades back, which drops out; it is nil exactly while the window is still
    /// filling. Returns the average once the window is full, nil before.
    mutating func update(price: Double, leavingPrice: Double?) -> Double? {
        windowSum.add(price)
        if let leavingPrice {
            assert(isWindowFull, "a price can only leave a full window")
            windowSum.add(-leavingPrice)
        } else {
            assert(!isWindowFull, "a full window must drop its oldest price")
            pricesInWindow += 1
        }
        return isWindowFull ? windowSum.value / periodAsDouble : nil
    }
}
