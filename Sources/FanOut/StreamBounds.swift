import GRPCServer
import Reactor

/// The calls that end at a time: StreamPrices streams bounded by their
/// client's `tickwire-stream-duration` (ending with OK), and any call whose
/// client sent `grpc-timeout` (ending with DEADLINE_EXCEEDED). A call with
/// both ends at the earlier. Deadlines share one reactor timer, set for the
/// earliest of them. The list holds only such calls, so unbounded fan-out
/// pays nothing. (A `tickwire-stream-messages` budget is counted in the
/// stream's registry entry, during the walk that queues each price.)
final class StreamBounds {
    private struct Deadline {
        let stream: GRPCStream
        let atNanos: Int64
        /// What the call ends with when the deadline comes.
        let status: GRPCStatus
    }

    /// A call whose deadline has come, and the status it ends with.
    struct Expiry {
        let stream: GRPCStream
        let status: GRPCStatus
    }

    private var deadlines: [Deadline] = []
    /// The one timer, while any deadline is pending.
    private var timer: (id: TimerID, atNanos: Int64)?
    private let timerTag: UInt64

    init(timerTag: UInt64) {
        self.timerTag = timerTag
    }

    /// `callTimeoutNanos`: the call's grpc-timeout, if its client sent one.
    /// A call with neither time bound is not kept.
    func track(_ stream: GRPCStream, _ bound: StreamBound, callTimeoutNanos: Int64?, reactor: Reactor) {
        if let end = Self.earliestEnd(bound, callTimeoutNanos, nowNanos: reactor.clock.monotonicNanos()) {
            deadlines.append(Deadline(stream: stream, atNanos: end.atNanos, status: end.status))
            armTimer(reactor, for: end.atNanos)
        }
    }

    /// The stream closed or left the registry.
    func forget(_ stream: GRPCStream) {
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
    /// `expired` and forgotten, and the timer is set for the next deadline.
    func timerFired(reactor: Reactor, expired: inout [Expiry]) {
        timer = nil
        let now = reactor.clock.monotonicNanos()
        var index = 0
        while index < deadlines.count {
            if deadlines[index].atNanos <= now {
                expired.append(Expiry(stream: deadlines[index].stream, status: deadlines[index].status))
                deadlines.swapAt(index, deadlines.count - 1)
                deadlines.removeLast()
            } else {
                index += 1
            }
        }
        if let earliest = deadlines.min(by: { $0.atNanos < $1.atNanos }) {
            armTimer(reactor, for: earliest.atNanos)
        }
    }

    /// Makes sure the timer fires by `deadline`. It only ever moves earlier:
    /// firing before a stream's deadline (or for a stream since closed) costs
    /// one scan of this short list and a re-arm.
    private func armTimer(_ reactor: Reactor, for deadline: Int64) {
        if let timer {
            guard deadline < timer.atNanos else { return }
            reactor.cancel(timer.id)
        }
        timer = (reactor.schedule(atNanos: deadline, tag: timerTag), deadline)
    }
}
