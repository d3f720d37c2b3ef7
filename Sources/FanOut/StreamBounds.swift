import GRPCServer
import Reactor

/// The calls that end by themselves, and when: StreamPrices streams bounded
/// by their client (StreamBound, ending with OK), and any call whose client
/// sent `grpc-timeout` (ending with DEADLINE_EXCEEDED). A call with both ends
/// at the earlier. Deadlines share one reactor timer, set for the earliest of
/// them; message budgets are counted down once per published price. Both
/// lists hold only bounded calls, so unbounded fan-out pays nothing.
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

    private struct Budget {
        let stream: GRPCStream
        var remaining: Int
    }

    private var deadlines: [Deadline] = []
    private var budgets: [Budget] = []
    /// The one timer, while any deadline is pending.
    private var timer: (id: TimerID, atNanos: Int64)?
    private let timerTag: UInt64

    init(timerTag: UInt64) {
        self.timerTag = timerTag
    }

    var hasBudgets: Bool { !budgets.isEmpty }

    /// `callTimeoutNanos`: the call's grpc-timeout, if its client sent one.
    func track(_ stream: GRPCStream, _ bound: StreamBound, callTimeoutNanos: Int64?, reactor: Reactor) {
        if let end = Self.earliestEnd(bound, callTimeoutNanos, nowNanos: reactor.clock.monotonicNanos()) {
            deadlines.append(Deadline(stream: stream, atNanos: end.atNanos, status: end.status))
            armTimer(reactor, for: end.atNanos)
        }
        if let count = bound.priceMessages {
            budgets.append(Budget(stream: stream, remaining: count))
        }
    }

    /// The stream closed or left the registry.
    func forget(_ stream: GRPCStream) {
        // A linear scan: only bounded streams are here, and order does not matter.
        if let index = deadlines.firstIndex(where: { $0.stream === stream }) {
            deadlines.swapAt(index, deadlines.count - 1)
            deadlines.removeLast()
        }
        if let index = budgets.firstIndex(where: { $0.stream === stream }) {
            budgets.swapAt(index, budgets.count - 1)
            budgets.removeLast()
        }
    }

    /// One price went to every open stream in the registry. A bounded stream
    /// still open therefore received it (a stream that overflowed, or was
    /// ended, is no longer open). Streams whose budget is spent are appended
    /// to `spent`, and forgotten here.
    func pricePublished(spent: inout [GRPCStream]) {
        var index = 0
        while index < budgets.count {
            if budgets[index].stream.isOpen { budgets[index].remaining -= 1 }
            if budgets[index].remaining <= 0 {
                spent.append(budgets[index].stream)
                budgets.swapAt(index, budgets.count - 1)
                budgets.removeLast()
            } else {
                index += 1
            }
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
