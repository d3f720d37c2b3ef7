/// The exact sum and sum of squares of a sliding window of prices, in
/// fixed point: each price as an integer count of 10⁻⁸ (Binance quotes every
/// price with 8 decimals, so the conversion is exact for every price it sends),
/// summed in 128 bits.
///
/// Integer sums never round, so adding the newest price and subtracting the
/// leaving one leaves no residue however many trades pass: after ten million
/// updates the sums are those of the window, bit for bit. A `Double` sum of
/// squares near 60,000² would instead random-walk by ~10⁻⁶ per update, and the
/// variance is the small difference of two such large numbers.
///
/// Bounds: a price below 10⁷ is below 10¹⁵ units, its square below 10³⁰; with
/// a window of at most 10⁴ prices every product below stays under 10³⁸ < 2¹²⁷.
/// A price outside [0, 10⁷) (a few fiat pairs quote BTC above it) is not
/// summed but counted: while the window holds one, it has no exact moments
/// (`isExact` false) and the bands give no value, rather than trap or round.
struct FixedPointWindow {
    /// Units per price unit: Binance's 8 decimals.
    static let unitsPerPrice = 100_000_000.0
    static let maxPrice = 10_000_000.0

    private(set) var sum: Int128 = 0
    private(set) var sumOfSquares: Int128 = 0
    /// Prices in the window outside [0, 10⁷), left out of the sums.
    private(set) var pricesOutOfRange = 0

    /// The sums are those of every price in the window.
    var isExact: Bool { pricesOutOfRange == 0 }

    /// The price in units of 10⁻⁸, rounded to the nearest (exact for Binance's
    /// prices); nil outside [0, 10⁷).
    static func units(of price: Double) -> Int128? {
        guard price >= 0 && price < maxPrice else { return nil }
        return Int128(Int64((price * unitsPerPrice).rounded()))
    }

    mutating func add(_ price: Double) {
        guard let units = Self.units(of: price) else {
            pricesOutOfRange += 1
            return
        }
        sum += units
        sumOfSquares += units * units
    }

    mutating func remove(_ price: Double) {
        guard let units = Self.units(of: price) else {
            pricesOutOfRange -= 1
            return
        }
        sum -= units
        sumOfSquares -= units * units
    }

    /// The mean of `count` prices, from the exact sum.
    func mean(count: Int) -> Double {
        Self.double(sum) / Double(count) / Self.unitsPerPrice
    }

    /// The population variance of `count` prices: (nΣx² − (Σx)²) / n², whose
    /// numerator is computed exactly and is never negative.
    func variance(count: Int) -> Double {
        let n = Int128(count)
        let numerator = n * sumOfSquares - sum * sum
        assert(numerator >= 0, "an exact variance is never negative")
        return Self.double(numerator) / (Double(count) * Double(count)) / (Self.unitsPerPrice * Self.unitsPerPrice)
    }

    /// `Double(value)`, fast. Swift 6.3's `Double(Int128)` takes the generic
    /// `BinaryInteger` path: about 600 ns, which made one Bollinger update
    /// cost 750 ns in the benchmark. A value that fits 64 bits (every window
    /// sum of BTC-sized prices up to ~1,500 trades) converts with one rounding;
    /// a larger one as high × 2⁶⁴ + low, within an ulp of the exact value.
    static func double(_ value: Int128) -> Double {
        if let small = Int64(exactly: value) { return Double(small) }
        let high = Int64(truncatingIfNeeded: value >> 64)
        let low = UInt64(truncatingIfNeeded: value)
        return Double(high) * 18_446_744_073_709_551_616.0 + Double(low)
    }
}
