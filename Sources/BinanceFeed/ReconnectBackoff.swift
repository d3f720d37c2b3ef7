/// How long to wait before the next connection attempt: exponential, with
/// jitter, capped, and never hammering. Attempt n waits a uniformly random
/// time in [c/2, c] with c = min(cap, base·2ⁿ). Jittering over the upper half
/// rather than from zero keeps the retries spread across a fleet while
/// guaranteeing that each wait is real (never ~0 ms) and that consecutive
/// waits grow until the cap: at base 1 s the first retry comes after 0.5–1 s.
public struct ReconnectBackoff: Sendable {
    public let baseNanos: Int64
    public let capNanos: Int64
    /// Consecutive failed or short-lived connections since the last healthy one.
    public private(set) var failures = 0

    public init(baseNanos: Int64, capNanos: Int64) {
        precondition(baseNanos > 0 && capNanos >= baseNanos, "backoff needs 0 < base <= cap")
        self.baseNanos = baseNanos
        self.capNanos = capNanos
    }

    /// The wait before the next attempt; counts a failure. `unit` is a random
    /// draw in [0, 1); `retryAfterNanos` (HTTP Retry-After) is a floor.
    public mutating func nextDelay(unit: Double, retryAfterNanos: Int64? = nil) -> Int64 {
        let ceiling = ceilingNanos(afterFailures: failures)
        failures += 1
        let jittered = ceiling / 2 + Int64(Double(ceiling / 2) * min(max(unit, 0), 1))
        return max(jittered, retryAfterNanos ?? 0)
    }

    /// A connection stayed healthy long enough: start from the base again.
    public mutating func reset() { failures = 0 }

    func ceilingNanos(afterFailures n: Int) -> Int64 {
        var ceiling = baseNanos
        for _ in 0..<min(n, 62) where ceiling < capNanos { ceiling = ceiling > capNanos / 2 ? capNanos : ceiling * 2 }
        return min(ceiling, capNanos)
    }
}
