import CTickwireShim

/// Where the reactor reads time. Injected so that timer logic can be driven
/// by a test without sleeping.
public protocol ReactorClock {
    /// Nanoseconds on a clock that never jumps (CLOCK_MONOTONIC).
    func monotonicNanos() -> Int64
    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME), for timestamps clients see.
    func wallUnixNanos() -> Int64
}

public struct SystemClock: ReactorClock {
    public init() {}
    @inline(__always) public func monotonicNanos() -> Int64 { tw_monotonic_nanos() }
    @inline(__always) public func wallUnixNanos() -> Int64 { tw_wall_unix_nanos() }
}
