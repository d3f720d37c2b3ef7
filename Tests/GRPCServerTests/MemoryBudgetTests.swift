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

    @Test func anOutputBufferReportsWhatItHoldsNotWhatIsUnsent() {
        var output = OutputBuffer()
        #expect(output.allocatedBytes == 0)
        let frame = [UInt8](repeating: 1, count: 3000)
        frame.withUnsafeBytes { output.append($0) }
        #expect(output.allocatedBytes == 4096 && output.count == 3000)
        output.consume(3000)
        #expect(output.isEmpty && output.allocatedBytes == 4096, "sent bytes leave the memory allocated")
        output.release()
        #expect(output.allocatedBytes == 0)
    }

    @Test func anAnnouncedMessageCostsOnlyWhatArrived() throws {
        var deframer = MessageDeframer(limit: 4 * 1024 * 1024)
        let prefix: [UInt8] = [0, 0x00, 0x40, 0x00, 0x00]  // 4 MiB announced
        try prefix.withUnsafeBytes { try deframer.consume($0) { _ in Issue.record("nothing is complete") } }
        // (Array rounds its capacity up a little.)
        #expect(deframer.heldBytes <= MessageDeframer.initialReserve + 64, "an announced length alone reserves little")
        let chunk = [UInt8](repeating: 9, count: 100_000)
        try chunk.withUnsafeBytes { try deframer.consume($0) { _ in Issue.record("nothing is complete") } }
        #expect(deframer.heldBytes >= 100_000 && deframer.hasPartialMessage)
        deframer.abandon()
        #expect(deframer.heldBytes == 0 && !deframer.hasPartialMessage)
        try chunk.withUnsafeBytes { try deframer.consume($0) { _ in Issue.record("an abandoned deframer takes nothing") } }
        #expect(deframer.heldBytes == 0)
    }

    @Test func aLargeMessagesBufferIsNotKeptForTheNext() throws {
        var deframer = MessageDeframer(limit: 1 << 20)
        var message: [UInt8] = [0, 0, 1, 0, 0]  // 65,536 bytes
        message += [UInt8](repeating: 3, count: 65_536)
        var delivered = 0
        // Split so the body is buffered rather than handed over in place.
        try message[..<1000].withUnsafeBytes { try deframer.consume($0) { _ in delivered += 1 } }
        try message[1000...].withUnsafeBytes { try deframer.consume($0) { _ in delivered += 1 } }
        #expect(delivered == 1 && !deframer.hasPartialMessage)
        #expect(deframer.heldBytes <= MessageDeframer.initialReserve + 64)
    }
}
