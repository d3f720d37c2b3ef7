/// TA-Lib's SMA as a stream, in its exact order of operations: the running
/// total adds the newest value, the mean is taken, and only then does the
/// value leaving the window come off. Replicating that order from the same
/// first value reproduces TA-Lib's smoothing inside STOCH bit for bit.
///
/// The window's values live on a ring allocated once in `init` (the Stochastic
/// smooths values that are in no history, so it keeps its own).
///
/// Trivially copyable, like `MonotonicDeque` and for the same reason.
///
/// Safe because: the ring is allocated with `period` elements in `init`,
/// initialized, and freed only by `deallocate()`, which the engine calls once,
/// when the state leaves its slot; only the state in the slot mutates it;
/// `next` stays in `0..<period`.
struct TrailingMean {
    let period: Int
    private let periodAsDouble: Double
    private let ring: UnsafeMutableBufferPointer<Double>
    /// Where the next value goes; after the window fills, also the oldest value's slot.
    private var next = 0
    private var valuesSeen = 0
    /// TA-Lib's `periodTotal` between updates: the sum of the newest period − 1 values.
    private var total = 0.0

    init(period: Int) {
        precondition(period >= 1, "a mean spans at least one value")
        self.period = period
        periodAsDouble = Double(period)
        ring = .allocate(capacity: period)
        ring.initialize(repeating: 0)
    }

    /// Frees the ring; the mean must not be used again.
    func deallocate() {
        ring.deallocate()
    }

    /// Feeds the next value; returns the mean of the last `period` once there are that many.
    mutating func update(_ value: Double) -> Double? {
        ring[next] = value
        next = next + 1 == period ? 0 : next + 1
        let sum = total + value
        guard valuesSeen + 1 >= period else {
            valuesSeen += 1
            total = sum
            return nil
        }
        valuesSeen = period
        // The ring holds exactly the window, so `next` now names its oldest
        // value (the newest itself when period is 1), which leaves after this mean.
        total = sum - ring[next]
        return sum / periodAsDouble
    }

    /// The mean `update(value)` would return, committing nothing.
    func peek(_ value: Double) -> Double? {
        valuesSeen + 1 >= period ? (total + value) / periodAsDouble : nil
    }
}
