import Testing
@testable import Reactor

@Suite struct FreedMemoryReturnTests {
    // #expect cannot call a mutating method on a captured value.
    private func trim(_ policy: inout FreedMemoryReturn, at nanos: Int64) -> Bool {
        policy.trimIfDue(nowNanos: nanos)
    }

    @Test func trimsOnlyAfterEnoughClosesAndAtMostOncePerGap() {
        var policy = FreedMemoryReturn(minimumGapNanos: 1_000, closesBeforeTrim: 3)
        #expect(trim(&policy, at: 0) == false, "nothing closed yet")
        policy.connectionClosed()
        policy.connectionClosed()
        #expect(trim(&policy, at: 10) == false, "two closes are below the threshold")
        policy.connectionClosed()
        #expect(trim(&policy, at: 20) == true, "the first trim does not wait for a gap")
        for _ in 0..<5 { policy.connectionClosed() }
        #expect(trim(&policy, at: 500) == false, "within the gap")
        #expect(trim(&policy, at: 1_020) == true, "gap passed, closes pending")
        #expect(trim(&policy, at: 5_000) == false, "the count was reset by the trim")
    }
}

@Suite struct DescriptorLimitTests {
    @Test func raisingLeavesSoftAtHardAndReportsIt() throws {
        let raised = try #require(DescriptorLimit.raiseSoftToHard())
        #expect(raised.soft == raised.hard || raised.soft == DescriptorLimit.current()?.soft)
        #expect(raised.soft >= 64)
    }

    @Test func admitsLeavesRoomForTheServer() {
        let limit = DescriptorLimit(soft: 1_024, hard: 4_096)
        #expect(limit.admits(connections: 960))
        #expect(!limit.admits(connections: 961))
    }
}
