import Testing
@testable import GRPCServer
import GRPCWire

/// The pieces of --max-queued-bytes that need no socket: the running total
/// every connection's backlog feeds, and queues that give their memory back.
@Suite struct MemoryBudgetTests {
    @Test func everyConnectionsBacklogChangeReachesTheServerTotal() {
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        total.initialize(to: 0)
        defer { total.deallocate() }
        var first = ConnectionBacklog(), second = ConnectionBacklog()
        first.serverQueuedBytes = total
        second.serverQueuedBytes = total
        first.queued(300)
        second.queued(200)
        #expect(total.pointee == 500)
        first.queued(-120)
        second.queued(-200)
        #expect(total.pointee == 180 && first.queuedBytes == 180)
    }

    @Test func aRingThatGrewGoesBackToItsSmallestSizeOnceDrained() {
        var queue = OutboundQueue()
        let message = WireMessage(payload: [UInt8](repeating: 7, count: 40))
        for _ in 0..<5000 { queue.append(message) }
        #expect(queue.slotCapacity == 8192)
        var frame = [UInt8](repeating: 0, count: 16_384)
        var bound = 0
        while !queue.isEmpty && bound < 1000 {
            _ = frame.withUnsafeMutableBytes { queue.drain(into: $0) }
            bound += 1
        }
        #expect(queue.isEmpty && queue.slotCapacity == 16)
    }

    @Test func droppingTheUnsentKeepsThePartlySentHeadAndShrinksTheRing() {
        var queue = OutboundQueue()
        let message = WireMessage(payload: [UInt8](repeating: 7, count: 40))
        for _ in 0..<3000 { queue.append(message) }
        var frame = [UInt8](repeating: 0, count: 10)
        _ = frame.withUnsafeMutableBytes { queue.drain(into: $0) }
        queue.dropUnsent()
        #expect(queue.pendingBytes == message.count - 10)
        #expect(queue.slotCapacity == 16)
    }

    @Test func aRingThatNeverGrewPastTheKeptSizeIsLeftAlone() {
        var queue = OutboundQueue()
        let message = WireMessage(payload: [1, 2, 3])
        for _ in 0..<1000 { queue.append(message) }
        queue.removeAll()
        #expect(queue.slotCapacity == 1024)
    }
}
