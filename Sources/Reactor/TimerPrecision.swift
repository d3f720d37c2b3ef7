/// How exactly a timer must fire. The poller waits in nanoseconds, so any
/// deadline could be met to within the kernel's timer slack; but most timers
/// (sweeps, batches, retries, deadlines) gain nothing from that and would
/// cost a wake-up each. Rounding their deadlines up to the monotonic
/// clock's next whole millisecond makes all those due within one millisecond
/// fire in one wake-up, as epoll_wait's millisecond timeout used to.
public enum TimerPrecision: Sendable, Equatable {
    /// Fires at the first whole millisecond at or after its deadline: at most
    /// 1 ms late, never early. The default.
    case millisecond
    /// Fires at its deadline, give or take the kernel's timer slack: for a
    /// wait measured in microseconds, such as `--flush-budget`'s window, and
    /// for the replay's next trade (a live feed's trades come one by one).
    case exact

    /// The deadline the timer queue keeps for `nanos`.
    @inline(__always)
    public func deadline(_ nanos: Int64) -> Int64 {
        switch self {
        case .exact: return nanos
        case .millisecond:
            // Whole milliseconds are a property of the clock, not of when the
            // timer was asked for, so two timers' roundings coincide.
            let remainder = nanos % 1_000_000
            guard remainder != 0, nanos < Int64.max - 1_000_000 else { return nanos }
            return nanos > 0 ? nanos - remainder + 1_000_000 : nanos - remainder
        }
    }
}
