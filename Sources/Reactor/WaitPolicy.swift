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
    /// are checked on every spin, so they fire as soon as they are due,
    /// closer than the sleeping poller's millisecond rounding.
    case spin

    /// The poller's timeout for one iteration, in milliseconds (-1: forever).
    /// `workLeft`: the flush hook has more to do at once. `timerTimeoutMs`:
    /// until the earliest timer (TimerQueue.timeoutMs), nil without one.
    /// `maxWaitMs`: the caller's cap, -1 for none.
    public func timeoutMs(workLeft: Bool, timerTimeoutMs: Int32?, maxWaitMs: Int32) -> Int32 {
        if self == .spin || workLeft { return 0 }
        var timeout = timerTimeoutMs ?? -1
        if maxWaitMs >= 0 && (timeout < 0 || timeout > maxWaitMs) { timeout = maxWaitMs }
        return timeout
    }

    /// The startup log's word for it (`busy_poll=`).
    public var logName: String { self == .spin ? "on" : "off" }
}
