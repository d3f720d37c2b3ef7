import GRPCServer
import Reactor

/// The StreamPrices streams that asked to end by themselves (StreamBound),
/// and when. Deadlines share one reactor timer, set for the earliest of them;
/// message budgets are counted down once per published price. Both lists hold
/// only bounded streams, so unbounded fan-out pays nothing.
final class StreamBounds {
    private struct Deadline {
        let stream: GRPCStream
        let atNanos: Int64
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

    func track(_ stream: GRPCStream, _ bound: StreamBound, reactor: Reactor) {
        if let nanos = bound.durationNanos {
            let now = reactor.clock.monotonicNanos()
            let (at, overflow) = now.addingReportingOverflow(nanos)
            let deadline = overflow ? Int64.max : at
            deadlines.append(Deadline(stream: stream, atNanos: deadline))
            armTimer(reactor, for: deadline)
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

    /// The timer fired: streams whose deadline has passed are appended to
    /// `expired` and forgotten, and the timer is set for the next deadline.
    func timerFired(reactor: Reactor, expired: inout [GRPCStream]) {
        timer = nil
        let now = reactor.clock.monotonicNanos()
        var index = 0
        while index < deadlines.count {
            if deadlines[index].atNanos <= now {
                expired.append(deadlines[index].stream)
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
