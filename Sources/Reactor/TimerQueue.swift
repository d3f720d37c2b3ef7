/// Identifies one scheduled timer, for cancelling it.
public struct TimerID: Hashable, Sendable {
    public let sequence: UInt64
}

/// A deadline min-heap that feeds epoll_wait's timeout. Cancellation is lazy:
/// a cancelled entry stays in the heap and is dropped when it reaches the top,
/// which keeps cancel O(1) (a set removal) for the common "re-arm" pattern.
public struct TimerQueue {
    public struct Expiry {
        public let id: TimerID
        public let token: TimerToken
    }

    private struct Entry {
        var deadlineNanos: Int64
        var sequence: UInt64
        var token: TimerToken
    }

    private var heap: [Entry] = []
    /// Timers scheduled and neither fired nor cancelled. An entry in the heap
    /// that is not here was cancelled; cancelling one that already fired
    /// finds nothing to remove, so nothing is left behind.
    private var live: Set<UInt64> = []
    private var nextSequence: UInt64 = 1

    public init() {
        heap.reserveCapacity(64)
        live.reserveCapacity(64)
    }

    /// Live (scheduled, not cancelled, not fired) timers.
    public var count: Int { live.count }

    public mutating func schedule(deadlineNanos: Int64, token: TimerToken) -> TimerID {
        let entry = Entry(deadlineNanos: deadlineNanos, sequence: nextSequence, token: token)
        nextSequence += 1
        heap.append(entry)
        live.insert(entry.sequence)
        siftUp(heap.count - 1)
        return TimerID(sequence: entry.sequence)
    }

    public mutating func cancel(_ id: TimerID) {
        live.remove(id.sequence)
    }

    /// Milliseconds until the earliest deadline, rounded up so the poller never
    /// wakes a moment early and spins; nil when nothing is scheduled.
    public mutating func timeoutMs(nowNanos: Int64) -> Int32? {
        dropCancelledTop()
        guard let first = heap.first else { return nil }
        let remaining = first.deadlineNanos - nowNanos
        if remaining <= 0 { return 0 }
        return Int32(clamping: (remaining + 999_999) / 1_000_000)
    }

    /// Removes and returns the earliest timer whose deadline has passed.
    public mutating func popExpired(nowNanos: Int64) -> Expiry? {
        dropCancelledTop()
        guard let first = heap.first, first.deadlineNanos <= nowNanos else { return nil }
        removeTop()
        live.remove(first.sequence)
        return Expiry(id: TimerID(sequence: first.sequence), token: first.token)
    }

    private mutating func dropCancelledTop() {
        while let first = heap.first, !live.contains(first.sequence) {
            removeTop()
        }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private func before(_ a: Entry, _ b: Entry) -> Bool {
        a.deadlineNanos != b.deadlineNanos ? a.deadlineNanos < b.deadlineNanos : a.sequence < b.sequence
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, before(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
