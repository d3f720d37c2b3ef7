/// The highest (or lowest) value of a sliding window in O(1) amortized per
/// update: a deque of the window's candidates on a preallocated ring.
///
/// A value is a candidate while no later value in the window beats it, so the
/// deque's values are monotonic and its front is the window's extreme. Each
/// value is pushed once and popped at most once, hence amortized O(1) however
/// long the window; a rescan on every departure of the extreme (TA-Lib's own
/// loop) would be O(window) against a steadily falling price.
///
/// A plain value over raw buffers (no class, so no reference counting on the
/// update path); its owner frees the buffers with `deallocate()` (the engine
/// does, when the state leaves its slot).
///
/// Safe because: both buffers are allocated with `capacity` elements in `init`
/// and freed only by `deallocate()`, which the engine calls exactly once, when
/// the state leaves its slot; copies share the buffers, so only the state in
/// the slot mutates them (`peek` reads only); every index is reduced modulo
/// `capacity`, and `count ≤ capacity` is a precondition of `push`.
struct MonotonicDeque {
    /// Which extreme the front holds.
    enum Extreme {
        /// The window's highest value (a later equal or higher value evicts earlier ones).
        case highest
        /// The window's lowest value.
        case lowest
    }

    let extreme: Extreme
    let capacity: Int
    /// Bar sequence numbers of the candidates, parallel to `values`.
    private let sequences: UnsafeMutableBufferPointer<Int>
    private let values: UnsafeMutableBufferPointer<Double>
    private var head = 0
    private var count = 0

    /// - Parameter capacity: the window length: at most that many candidates at once.
    init(_ extreme: Extreme, capacity: Int) {
        precondition(capacity >= 1, "a window holds at least one value")
        self.extreme = extreme
        self.capacity = capacity
        sequences = .allocate(capacity: capacity)
        sequences.initialize(repeating: 0)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: 0)
    }

    /// Frees the buffers; the deque must not be used again.
    func deallocate() {
        sequences.deallocate()
        values.deallocate()
    }

    /// Drops candidates before `windowStart`, then appends `value` (bar
    /// `sequence`) after dropping those it beats.
    mutating func push(_ value: Double, sequence: Int, windowStart: Int) {
        while count > 0 && sequences[head] < windowStart {
            head = head + 1 == capacity ? 0 : head + 1
            count -= 1
        }
        while count > 0 && !beats(values[slot(count - 1)], value) {
            count -= 1
        }
        precondition(count < capacity, "a window of `capacity` bars never holds more candidates")
        let tail = slot(count)
        sequences[tail] = sequence
        values[tail] = value
        count += 1
    }

    /// The window's extreme; call after at least one `push`.
    var front: Double {
        precondition(count > 0, "an empty window has no extreme")
        return values[head]
    }

    /// The extreme the window starting at `windowStart` would have with
    /// `value` pushed, committing nothing (for a forming candle). Only the
    /// front can be older than the window, as every push evicted what left before.
    func peek(including value: Double, windowStart: Int) -> Double {
        var index = 0
        while index < count && sequences[slot(index)] < windowStart { index += 1 }
        guard index < count else { return value }
        let held = values[slot(index)]
        return beats(held, value) ? held : value
    }

    /// True when `held` stays a candidate after `newer` arrives.
    private func beats(_ held: Double, _ newer: Double) -> Bool {
        switch extreme {
        case .highest: held > newer
        case .lowest: held < newer
        }
    }

    private func slot(_ offset: Int) -> Int {
        let position = head + offset
        return position >= capacity ? position - capacity : position
    }
}
