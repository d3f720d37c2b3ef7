import Testing
@testable import GRPCServer
import GRPCWire

@Suite struct WireMessageRecyclerTests {
    private func message(_ recycler: inout WireMessageRecycler, _ bytes: [UInt8]) -> WireMessage {
        recycler.message(payloadCount: bytes.count) { buffer in
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }

    @Test func reusesMessagesNoStreamHolds() {
        var recycler = WireMessageRecycler(slots: 2, minimumPayloadCapacity: 16)
        let first = ObjectIdentifier(message(&recycler, [1, 2, 3]))
        _ = message(&recycler, [4])
        let third = message(&recycler, [5, 6])  // back at slot 0, released: reused
        #expect(ObjectIdentifier(third) == first)
        #expect(third.payload == [5, 6])
        third.withBytes { #expect(Array($0[0..<5]) == [0, 0, 0, 0, 2]) }
        #expect(recycler.allocations == 0)
    }

    @Test func neverOverwritesAMessageStillQueued() {
        var recycler = WireMessageRecycler(slots: 2, minimumPayloadCapacity: 16)
        let held = message(&recycler, [1, 2, 3])  // as a stream's queue would hold it
        _ = message(&recycler, [4])
        let next = message(&recycler, [9, 9])
        #expect(next !== held)
        #expect(held.payload == [1, 2, 3], "a queued message keeps its bytes")
        #expect(recycler.allocations == 1)
    }

    @Test func growsPastTheMinimumCapacity() {
        var recycler = WireMessageRecycler(slots: 1, minimumPayloadCapacity: 4)
        let big = [UInt8](repeating: 7, count: 100)
        let message = message(&recycler, big)
        #expect(message.payload == big)
        #expect(recycler.allocations == 1)
        let small = self.message(&recycler, [1])
        #expect(small.payload == [1])
    }
}
