/// A running sum that carries the rounding error of every addition with it
/// (Kahan–Babuška summation, using Knuth's branch-free TwoSum for the error).
///
/// The SMA adds the newest price and subtracts the one leaving its window on
/// every trade. A plain `Double` accumulator rounds twice per trade and
/// random-walks away from the true window sum; worse, a single outsized price
/// wipes out the low bits of everything summed beside it, and they do not come
/// back when it leaves. Here the lost bits are kept in `compensation`, so the
/// value stays within a few ulps of the exact window sum however many trades
/// pass, and each update stays O(1) with no periodic re-summing.
struct CompensatedSum {
    /// The rounded running sum.
    private var sum = 0.0
    /// Everything `sum`'s roundings have dropped so far.
    private var compensation = 0.0

    /// The best estimate of the exact sum.
    var value: Double { sum + compensation }

    mutating func add(_ term: Double) {
        let rounded = sum + term
        // TwoSum: the exact error of `sum + term`, whichever operand is larger.
        let termPart = rounded - sum
        let error = (sum - (rounded - termPart)) + (term - termPart)
        sum = rounded
        compensation += error
    }
}
