/// Records when each indicator batch round ran, so the log can say how
/// steady the cadence was (the "p99 interval within 100 ms ± 10 ms")
/// as the server saw it, independent of how fast clients read.
struct BatchCadence {
    private var intervalsNanos: [Int64]
    private var next = 0
    private var filled = 0
    private var lastRunNanos: Int64?
    private(set) var rounds = 0

    init(capacity: Int = 65_536) {
        intervalsNanos = Array(repeating: 0, count: capacity)
    }

    mutating func recordRound(atNanos now: Int64) {
        rounds += 1
        if let last = lastRunNanos {
            intervalsNanos[next] = now - last
            next = (next + 1) % intervalsNanos.count
            filled = min(filled + 1, intervalsNanos.count)
        }
        lastRunNanos = now
    }

    /// p50, p99 and max of the recorded intervals in milliseconds, or nil before two rounds.
    func summaryMs() -> (p50: Double, p99: Double, max: Double)? {
        guard filled > 0 else { return nil }
        let sorted = intervalsNanos[0..<filled].sorted()
        func percentile(_ p: Double) -> Double {
            Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]) / 1e6
        }
        return (percentile(0.50), percentile(0.99), Double(sorted[sorted.count - 1]) / 1e6)
    }
}
