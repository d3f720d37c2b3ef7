/// The backoff's random draws. It is seeded, so a unit test (or a seeded
/// simulation of the reconnect machine) sees the same waits on every run;
/// the server seeds it from the system's generator.
struct JitterSource: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    /// SplitMix64: one addition and two multiply-xorshift rounds per draw,
    /// which spreads even consecutive seeds over the whole range.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A uniform draw in [0, 1), as ReconnectBackoff takes it.
    mutating func nextUnit() -> Double {
        Double.random(in: 0..<1, using: &self)
    }
}
