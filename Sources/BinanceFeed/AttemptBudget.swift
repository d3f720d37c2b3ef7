/// A token bucket for connection attempts, so that nothing (a server that
/// accepts and drops at once, a storm of stale connections, immediate
/// reconnects after healthy ones) takes us past Binance's limit of 300
/// connection attempts per 5 minutes per IP.
///
/// Kept as the time the bucket would be full again (GCRA), not as a token
/// count, so it is two integers and needs no refill step: an attempt may go
/// out once `fullAtNanos - (burst - 1) · interval` has passed. In any window
/// of W nanoseconds at most `burst + W / intervalNanos` attempts fit; the
/// defaults (10, 1.5 s) allow 210 per 5 minutes.
public struct AttemptBudget: Sendable {
    public let burst: Int
    public let intervalNanos: Int64
    /// When the bucket will be full again; nil while it is full.
    private var fullAtNanos: Int64?

    public init(burst: Int, intervalNanos: Int64) {
        precondition(burst > 0 && intervalNanos > 0, "the attempt budget needs a burst and an interval")
        self.burst = burst
        self.intervalNanos = intervalNanos
    }

    /// The earliest time at or after `nanos` an attempt may go out.
    public func earliest(atOrAfter nanos: Int64) -> Int64 {
        guard let fullAtNanos else { return nanos }
        return max(nanos, fullAtNanos - Int64(burst - 1) * intervalNanos)
    }

    /// An attempt goes out now. Rotations spend without waiting (they are
    /// rare and planned), so the bucket may run a little into debt; the next
    /// unplanned attempt then waits longer.
    public mutating func spend(nowNanos: Int64) {
        fullAtNanos = max(fullAtNanos ?? nowNanos, nowNanos) + intervalNanos
    }
}
