import Testing
@testable import MetricsHTTP

/// Which /metrics connection gives way when every slot is taken.
@Suite struct ScrapeSlotReclaimTests {
    typealias Candidate = ScrapeSlotReclaim.Candidate

    @Test func aLingeringConnectionGoesFirstThenSilentThenPartial() {
        let partial = Candidate(slot: 0, phase: .reading, receivedBytes: 10, acceptSerial: 1)
        let silent = Candidate(slot: 1, phase: .reading, receivedBytes: 0, acceptSerial: 5)
        let lingering = Candidate(slot: 2, phase: .lingering, receivedBytes: 40, acceptSerial: 9)
        #expect(ScrapeSlotReclaim.choose([partial, silent, lingering], protectedFromSerial: 100) == 2)
        #expect(ScrapeSlotReclaim.choose([partial, silent], protectedFromSerial: 100) == 1)
        #expect(ScrapeSlotReclaim.choose([partial], protectedFromSerial: 100) == 0)
    }

    @Test func theOldestOfARankGivesWay() {
        let candidates = [4, 2, 7].enumerated().map {
            Candidate(slot: $0.offset, phase: .reading, receivedBytes: 0, acceptSerial: UInt64($0.element))
        }
        #expect(ScrapeSlotReclaim.choose(candidates, protectedFromSerial: 100) == 1)
    }

    @Test func aResponseBeingWrittenIsNeverCut() {
        let writing = Candidate(slot: 3, phase: .writing, receivedBytes: 40, acceptSerial: 0)
        #expect(ScrapeSlotReclaim.choose([writing], protectedFromSerial: 100) == nil)
    }

    @Test func connectionsOfTheCurrentAcceptBatchAreSpared() {
        let old = Candidate(slot: 0, phase: .reading, receivedBytes: 5, acceptSerial: 3)
        let new = Candidate(slot: 1, phase: .reading, receivedBytes: 0, acceptSerial: 8)
        #expect(ScrapeSlotReclaim.choose([old, new], protectedFromSerial: 8) == 0)
        #expect(ScrapeSlotReclaim.choose([new], protectedFromSerial: 8) == nil)
    }
}
