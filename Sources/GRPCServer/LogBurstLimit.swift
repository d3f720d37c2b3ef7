/// Lets a warning that can fire once per stream through at most `burst`
/// times a second; the rest are counted, and the next line that goes out
/// says how many were kept quiet. When thousands of streams end together (a
/// client that opened them all with closed windows, a budget cut) one line
/// each would be thousands of writes to stderr in one loop iteration, and a
/// log pipe that fills blocks the loop.
struct LogBurstLimit {
    let burst: Int
    private var windowStartNanos = Int64.min
    private var linesInWindow = 0
    private var suppressed = 0

    init(burst: Int) {
        self.burst = burst
    }

    /// Nil: stay quiet. Otherwise log now, with the count of lines kept
    /// quiet since the last one that went out.
    mutating func admit(nowNanos: Int64) -> Int? {
        if nowNanos &- windowStartNanos >= 1_000_000_000 || windowStartNanos == .min {
            windowStartNanos = nowNanos
            linesInWindow = 0
        }
        guard linesInWindow < burst else {
            suppressed += 1
            return nil
        }
        linesInWindow += 1
        defer { suppressed = 0 }
        return suppressed
    }
}
