import Testing
@testable import Reactor

@Suite struct ConnectionSlotsTests {
    final class FakeConnection {
        let name: String
        init(_ name: String) { self.name = name }
    }

    /// Reserves and fills one slot, as a listener adopts a connection.
    func adopt(_ slots: inout ConnectionSlots<FakeConnection>, _ name: String) -> (EventToken, FakeConnection)? {
        guard let token = slots.reserve() else { return nil }
        let connection = FakeConnection(name)
        slots.fill(token, with: connection)
        return (token, connection)
    }

    func adoptOne(_ slots: inout ConnectionSlots<FakeConnection>, _ name: String) throws -> (EventToken, FakeConnection) {
        let adopted = adopt(&slots, name)
        return try #require(adopted)
    }

    @Test func adoptsUntilFull() {
        var slots = ConnectionSlots<FakeConnection>(capacity: 3, kind: .connection)
        let adopted = (0..<3).compactMap { adopt(&slots, "c\($0)") }
        #expect(adopted.count == 3)
        #expect(adopted.map(\.0.slot) == [0, 1, 2], "slots fill from the lowest")
        #expect(adopted.allSatisfy { $0.0.kind == .connection && $0.0.generation == 1 })
        #expect(slots.count == 3 && slots.isFull)
        #expect(slots.reserve() == nil, "a full table refuses the next connection")
        for (token, connection) in adopted { #expect(slots.lookup(token) === connection) }
    }

    @Test func staleGenerationIsRejectedAfterReuse() throws {
        var slots = ConnectionSlots<FakeConnection>(capacity: 1, kind: .metricsConnection)
        let (first, _) = try adoptOne(&slots, "first")
        slots.release(first)
        #expect(slots.lookup(first) == nil, "a released slot answers no token")
        let (second, reused) = try adoptOne(&slots, "second")
        #expect(second.slot == first.slot && second.generation == first.generation + 1)
        #expect(slots.lookup(first) == nil, "an event queued for the old occupant is dropped")
        #expect(slots.lookup(second) === reused)
    }

    @Test func releaseFreesTheSlotForTheNextAdoption() throws {
        var slots = ConnectionSlots<FakeConnection>(capacity: 2, kind: .connection)
        let (a, _) = try adoptOne(&slots, "a")
        let (b, kept) = try adoptOne(&slots, "b")
        slots.release(a)
        #expect(slots.count == 1 && !slots.isFull)
        #expect(slots.occupant(atSlot: Int(a.slot)) == nil && slots.occupant(atSlot: Int(b.slot)) === kept)
        let (c, _) = try adoptOne(&slots, "c")
        #expect(c.slot == a.slot, "the released slot is the one reused")
        #expect(slots.reserve() == nil)
    }

    @Test func cancelledReservationLeavesNoOccupant() throws {
        var slots = ConnectionSlots<FakeConnection>(capacity: 1, kind: .connection)
        let reserved = slots.reserve()
        let token = try #require(reserved)
        slots.cancel(token)
        #expect(slots.count == 0 && slots.lookup(token) == nil)
        let (next, _) = try adoptOne(&slots, "after a failed setup")
        #expect(next.generation != token.generation, "the failed setup's token stays stale")
    }

    @Test func tokensOfAnotherKindAreNotLookedUp() throws {
        var slots = ConnectionSlots<FakeConnection>(capacity: 1, kind: .connection)
        let (token, _) = try adoptOne(&slots, "h2")
        let foreign = EventToken(kind: .metricsConnection, slot: token.slot, generation: token.generation)
        #expect(slots.lookup(foreign) == nil)
    }
}
