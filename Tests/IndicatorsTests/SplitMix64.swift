/// A tiny seeded generator (Steele, Lea & Flood's SplitMix64), so every random
/// series in these tests is the same on every run and every platform.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Trade-like prices: a random walk on a cent grid that stays put about a third
/// of the time, as real trade prices often do, so RSI sees zero changes too.
func randomWalkPrices(count: Int, seed: UInt64, start: Double = 61_000) -> [Double] {
    var generator = SplitMix64(seed: seed)
    var cents = Int(start * 100)
    var prices: [Double] = []
    prices.reserveCapacity(count)
    for _ in 0..<count {
        if Int.random(in: 0..<3, using: &generator) != 0 {
            cents = max(1, cents + Int.random(in: -500...500, using: &generator))
        }
        prices.append(Double(cents) / 100)
    }
    return prices
}
