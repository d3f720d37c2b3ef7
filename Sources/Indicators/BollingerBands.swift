/// Bollinger Bands(period, up, down) as TA-Lib's `TA_BBANDS` with its default
/// SMA: middle = SMA(period), upper/lower = middle ± deviations × σ, where σ
/// is the population standard deviation of the window (TA-Lib's STDDEV).
///
/// Like the SMA, the window's prices stay in the symbol's history and the
/// caller hands in the price leaving the window; the state keeps only the
/// exact fixed-point sums (`FixedPointWindow`), so the bands do not drift and
/// agree with TA-Lib's (which re-derives them) to a few ulps.
struct BollingerBands {
    let period: Int
    private let deviationsUp: Double
    private let deviationsDown: Double
    private var window = FixedPointWindow()
    /// Prices in the window so far; reaches `period` at warm-up and stays there.
    private(set) var pricesInWindow = 0

    init(period: Int, deviationsUp: Double, deviationsDown: Double) {
        precondition(period >= 2, "a standard deviation needs two prices")
        self.period = period
        self.deviationsUp = deviationsUp
        self.deviationsDown = deviationsDown
    }

    /// Slides the window onto `price`; `leavingPrice` is nil exactly while it
    /// fills. Returns (upper, middle, lower) once the window is full.
    mutating func update(price: Double, leavingPrice: Double?) -> IndicatorOutputs? {
        window.add(price)
        if let leavingPrice {
            window.remove(leavingPrice)
        } else {
            pricesInWindow += 1
        }
        // No value while a price beyond the exact sums' range is in the window.
        guard pricesInWindow == period, window.isExact else { return nil }
        let middle = window.mean(count: period)
        let deviation = window.variance(count: period).squareRoot()
        return IndicatorOutputs(middle + deviation * deviationsUp, middle, middle - deviation * deviationsDown)
    }
}
