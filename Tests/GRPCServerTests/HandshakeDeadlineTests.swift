import Testing
@testable import GRPCServer

/// --handshake-timeout's rules without a socket: when a connection is
/// overdue, how often the sweep looks, and which unfinished handshake gives
/// its slot to a new connection.
@Suite struct HandshakeDeadlineTests {
    let second: Int64 = 1_000_000_000

    @Test func overdueExactlyAtTheTimeout() {
        let deadline = HandshakeDeadline(timeoutNanos: 2 * second)
        #expect(!deadline.isOverdue(openedAtNanos: 10 * second, nowNanos: 12 * second - 1))
        #expect(deadline.isOverdue(openedAtNanos: 10 * second, nowNanos: 12 * second))
    }

    @Test func sweepIsAQuarterOfTheTimeoutWithinBounds() {
        #expect(HandshakeDeadline(timeoutNanos: 2 * second).sweepIntervalNanos == second / 2)
        #expect(HandshakeDeadline(timeoutNanos: 100_000_000).sweepIntervalNanos == 50_000_000)
        #expect(HandshakeDeadline(timeoutNanos: 120 * second).sweepIntervalNanos == second)
    }

    @Test func theOldestUnfinishedGivesWay() {
        let candidates: [(openedAtNanos: Int64, slot: Int)] = [(5, 0), (3, 1), (9, 2)]
        #expect(HandshakeDeadline.oldestUnfinished(candidates, acceptedBeforeNanos: .max)?.slot == 1)
    }

    @Test func connectionsOfTheCurrentAcceptBatchAreSpared() {
        let candidates: [(openedAtNanos: Int64, slot: Int)] = [(50, 0), (60, 1), (40, 2)]
        #expect(HandshakeDeadline.oldestUnfinished(candidates, acceptedBeforeNanos: 45)?.slot == 2)
        #expect(HandshakeDeadline.oldestUnfinished(candidates, acceptedBeforeNanos: 40) == nil)
    }

    @Test func noUnfinishedHandshakeMeansTheNewConnectionIsRefused() {
        let none: [(openedAtNanos: Int64, slot: Int)] = []
        #expect(HandshakeDeadline.oldestUnfinished(none, acceptedBeforeNanos: .max) == nil)
    }
}
