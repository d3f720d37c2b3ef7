/// How hard the loop works: iterations, and the time between waking from
/// the poller and going back to sleep. Plain counters, read by the metrics
/// endpoint at scrape time, so the loop itself never touches a registry.
public struct LoopStatistics: Sendable {
    /// Completed waits on the poller (one per loop iteration).
    public private(set) var iterations = 0
    /// Nanoseconds spent outside the poller's wait: dispatching events,
    /// firing timers and flushing. Time asleep is the rest.
    public private(set) var busyNanos: Int64 = 0
    /// Zero-timeout polls (--busy-poll) that found nothing to do: neither
    /// iterations nor work, since the loop would have slept through them.
    public private(set) var idleSpins = 0
    /// When the current working stretch began (the last wake-up); 0 before
    /// the first one, so the setup before the loop is not counted.
    private var wokeAtNanos: Int64 = 0

    public init() {}

    /// The loop is about to wait: the stretch since the last wake-up was work.
    mutating func sleepStarted(atNanos now: Int64) {
        if wokeAtNanos > 0 { busyNanos += max(0, now - wokeAtNanos) }
        wokeAtNanos = 0
    }

    /// A spin found nothing: the loop stays asleep, so the stretch until the
    /// next wait is not work.
    mutating func spunIdle() {
        idleSpins += 1
    }

    /// The poller returned.
    mutating func woke(atNanos now: Int64) {
        iterations += 1
        wokeAtNanos = now
    }
}
