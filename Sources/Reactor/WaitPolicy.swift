/// How the reactor waits when an iteration has nothing left to do: the one
/// decision `--busy-poll` changes. Pure, so the choice of timeout is tested
/// without a poller.
public enum WaitPolicy: Sendable, Equatable {
    /// Sleep in the poller until an event arrives or the next timer is due
    /// (the default): an idle server costs nothing.
    case sleep
    /// Never sleep: ask the poller with a zero timeout every iteration
    /// (`--busy-poll`). Saves the wake-up (the scheduler's, and the trip
    /// through the idle state) between a packet's arrival and its dispatch,
    /// at the price of a whole core spinning while the feed is quiet. Timers
    /// are checked on every spin, so they fire as soon as they are due, not
    /// after the kernel's timer slack (50 µs by default).
    case spin

    /// The poller's timeout for one iteration, in nanoseconds (-1: forever).
    /// `workLeft`: the flush hook has more to do at once.
    /// `timerTimeoutNanos`: until the earliest timer (TimerQueue.timeoutNanos),
    /// nil without one. `maxWaitNanos`: the caller's cap, -1 for none.
    public func timeoutNanos(workLeft: Bool, timerTimeoutNanos: Int64?, maxWaitNanos: Int64) -> Int64 {
        if self == .spin || workLeft { return 0 }
        var timeout = timerTimeoutNanos ?? -1
        if maxWaitNanos >= 0 && (timeout < 0 || timeout > maxWaitNanos) { timeout = maxWaitNanos }
        return timeout
    }

    /// The startup log's word for it (`busy_poll=`).
    public var logName: String { self == .spin ? "on" : "off" }
}
