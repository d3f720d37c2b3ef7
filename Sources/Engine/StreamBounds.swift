import GRPCWire

/// The calls that end at a time: StreamPrices streams bounded by their
/// client's `tickwire-stream-duration` (ending with OK), and any call whose
/// client sent `grpc-timeout` (ending with DEADLINE_EXCEEDED). A call with
/// both ends at the earlier. Deadlines share one timer, set for the earliest
/// of them; the engine does no I/O, so each change returns the `TimerRequest`
/// its owner carries out on the reactor. The list holds only such calls, so unbounded fan-out
/// pays nothing. (A `tickwire-stream-messages` budget is counted in the
/// stream's registry entry, during the walk that queues each price.)
public final class StreamBounds<Stream: ClientStream> {
    private struct Deadline {
        let stream: Stream
        let atNanos: Int64
        /// What the call ends with when the deadline comes.
        let status: GRPCStatus
    }

    /// What the owner does with its one timer after a change.
    public enum TimerRequest: Equatable {
        /// Cancel the armed timer, if any, and arm one for this time.
        case arm(atNanos: Int64)
    }

    private var deadlines: [Deadline] = []
    /// When the owner's timer fires, while any deadline is pending.
    private var armedAtNanos: Int64?

    public init() {}

    public var isEmpty: Bool { deadlines.isEmpty }

    /// `callTimeoutNanos`: the call's grpc-timeout, if its client sent one.
    /// A call with neither time bound is not kept.
    func track(_ stream: Stream, _ bound: StreamBound, callTimeoutNanos: Int64?, nowNanos: Int64) -> TimerRequest? {
        guard let end = Self.earliestEnd(bound, callTimeoutNanos, nowNanos: nowNanos) else { return nil }
        deadlines.append(Deadline(stream: stream, atNanos: end.atNanos, status: end.status))
        return armTimer(for: end.atNanos)
    }

    /// The stream closed or left the registry.
    func forget(_ stream: Stream) {
        // A linear scan: only time-bounded calls are here, and order does not matter.
        if let index = deadlines.firstIndex(where: { $0.stream === stream }) {
            deadlines.swapAt(index, deadlines.count - 1)
            deadlines.removeLast()
        }
    }

    /// The earlier of the client's two time bounds, if it set either. On a
    /// tie grpc-timeout wins: the client would see DEADLINE_EXCEEDED anyway.
    private static func earliestEnd(_ bound: StreamBound, _ callTimeoutNanos: Int64?,
                                    nowNanos: Int64) -> (atNanos: Int64, status: GRPCStatus)? {
        func at(_ nanos: Int64) -> Int64 {
            let (sum, overflow) = nowNanos.addingReportingOverflow(max(0, nanos))
            return overflow ? Int64.max : sum
        }
        let duration = bound.durationNanos.map { (at($0), GRPCStatus.ok) }
        let timeout = callTimeoutNanos.map {
            (at($0), GRPCStatus(.deadlineExceeded, "the call's grpc-timeout of \($0 / 1_000_000) ms elapsed"))
        }
        switch (duration, timeout) {
        case (nil, nil): return nil
        case (let only?, nil), (nil, let only?): return only
        case (let duration?, let timeout?): return duration.0 < timeout.0 ? duration : timeout
        }
    }

    /// The timer fired: calls whose deadline has passed are appended to
    /// `expired` (with the status each ends with) and forgotten. Returns the
    /// timer for the next deadline, if any is left.
    func timerFired(nowNanos: Int64, expired: inout [(stream: Stream, status: GRPCStatus)]) -> TimerRequest? {
        armedAtNanos = nil
        var index = 0
        while index < deadlines.count {
            if deadlines[index].atNanos <= nowNanos {
                expired.append((deadlines[index].stream, deadlines[index].status))
                deadlines.swapAt(index, deadlines.count - 1)
                deadlines.removeLast()
            } else {
                index += 1
            }
        }
        guard let earliest = deadlines.min(by: { $0.atNanos < $1.atNanos }) else { return nil }
        return armTimer(for: earliest.atNanos)
    }

    /// Makes sure the timer fires by `deadline`. It only ever moves earlier:
    /// firing before a stream's deadline (or for a stream since closed) costs
    /// one scan of this short list and a re-arm.
    private func armTimer(for deadline: Int64) -> TimerRequest? {
        if let armedAtNanos, deadline >= armedAtNanos { return nil }
        armedAtNanos = deadline
        return .arm(atNanos: deadline)
    }
}
