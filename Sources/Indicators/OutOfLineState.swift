/// A calculator's state kept outside the `IndicatorCalculator` enum, behind a
/// pointer allocated when the state is created.
///
/// Why: the per-trade `switch` copies a payload out of the enum and writes
/// the enum back, and that costs with the enum's size, not the payload's. MACD
/// (three EMAs, ~180 bytes) and the Stochastic (four rings' bookkeeping, ~250
/// bytes) inline made every kind's update about 40 ns slower (the benchmark:
/// SMA 17 → 59 ns). Out of line, the enum stays as small as RSI's state;
/// Bollinger Bands' two 128-bit sums go out of line for the same reason.
///
/// Safe because: `init` allocates and initializes one `State`; `deallocate()`
/// deinitializes and frees it, and the engine calls it exactly once, when the
/// state leaves its slot. Copies share the pointee, so only the calculator in
/// the slot mutates it; a peek works on a copy of the value (`value`).
struct OutOfLineState<State> {
    private let pointer: UnsafeMutablePointer<State>

    init(_ state: State) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: state)
    }

    /// A copy of the state, for previews that must commit nothing.
    var value: State { pointer.pointee }

    /// Runs `body` on the state in place.
    func mutate<Result>(_ body: (inout State) -> Result) -> Result {
        body(&pointer.pointee)
    }

    func deallocate() {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
