/// Skipped frames are counted always but reported at most once a second per
/// reason, so a stream of garbage cannot flood the log.
struct SkipReportLimiter {
    private var last: [FeedEvent.SkipReason: (atNanos: Int64, suppressed: Int)] = [:]

    /// Nil when this skip stays quiet; otherwise report it now, with how
    /// many of its reason were kept quiet since the last report.
    mutating func admit(_ reason: FeedEvent.SkipReason, nowNanos: Int64) -> Int? {
        var entry = last[reason] ?? (atNanos: nowNanos - 2_000_000_000, suppressed: 0)
        defer { last[reason] = entry }
        guard nowNanos - entry.atNanos >= 1_000_000_000 else {
            entry.suppressed += 1
            return nil
        }
        let suppressed = entry.suppressed
        entry = (nowNanos, 0)
        return suppressed
    }
}
