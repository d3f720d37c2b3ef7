import Glibc
import Testing
@testable import Reactor

/// --busy-poll: the timeout each iteration hands the poller, and that a
/// spinning loop still fires its timers on time and is not taken for a busy one.
@Suite struct WaitPolicyTests {
    @Test func sleepingWaitsForTheNextTimerOrForever() {
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: false, timerTimeoutNanos: 7, maxWaitNanos: -1) == 7)
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: false, timerTimeoutNanos: nil, maxWaitNanos: -1) == -1)
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: false, timerTimeoutNanos: 0, maxWaitNanos: -1) == 0, "a due timer")
    }

    @Test func sleepingHonoursTheCallersCap() {
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: false, timerTimeoutNanos: nil, maxWaitNanos: 100) == 100)
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: false, timerTimeoutNanos: 500, maxWaitNanos: 100) == 100)
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: false, timerTimeoutNanos: 5, maxWaitNanos: 100) == 5)
    }

    @Test func workLeftNeverWaits() {
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: true, timerTimeoutNanos: 7, maxWaitNanos: -1) == 0)
        #expect(WaitPolicy.sleep.timeoutNanos(workLeft: true, timerTimeoutNanos: nil, maxWaitNanos: 100) == 0)
    }

    @Test func spinningNeverWaits() {
        for timer: Int64? in [nil, 0, 1, 1_000] {
            for cap: Int64 in [-1, 0, 100] {
                #expect(WaitPolicy.spin.timeoutNanos(workLeft: false, timerTimeoutNanos: timer, maxWaitNanos: cap) == 0)
                #expect(WaitPolicy.spin.timeoutNanos(workLeft: true, timerTimeoutNanos: timer, maxWaitNanos: cap) == 0)
            }
        }
    }
}

@Suite(.serialized) struct BusyPollLoopTests {
    private func spinningReactor(_ choice: IOBackendChoice, clock: any ReactorClock = SystemClock()) throws -> Reactor {
        switch choice {
        case .epoll: return Reactor(backend: .epoll(try EpollPoller()), clock: clock, waitPolicy: .spin)
        case .ioUring: return Reactor(backend: .ioUring(try UringPoller()), clock: clock, waitPolicy: .spin)
        }
    }

    /// Never blocks (no `maxWaitMs` cap is given), yet each timer fires once
    /// it is due and not before.
    @Test(arguments: IOBackendChoice.allCases)
    func timersFireOnTimeWhileSpinning(_ choice: IOBackendChoice) throws {
        let reactor = try spinningReactor(choice)
        defer { reactor.close() }
        let handler = RecordingHandler()
        let clock = SystemClock()
        let start = clock.monotonicNanos()
        reactor.schedule(afterNanos: 3_000_000, .test(1))
        reactor.schedule(afterNanos: 6_000_000, .test(2))
        var firedAt: [Int64] = []
        var longestSpinNanos: Int64 = 0
        for _ in 0..<10_000_000 where handler.timers.count < 2 {
            let before = clock.monotonicNanos()
            try reactor.runOnce(handler, maxWaitMs: -1)
            let after = clock.monotonicNanos()
            longestSpinNanos = max(longestSpinNanos, after - before)
            // Both may fire in one spin when the process was descheduled past
            // the second deadline (a loaded machine): each gets this spin's time.
            while handler.timers.count > firedAt.count { firedAt.append(after - start) }
            if after - start > 2_000_000_000 { break }
        }
        #expect(handler.timers == [1, 2])
        #expect(firedAt.count == 2 && firedAt[0] >= 3_000_000 && firedAt[1] >= 6_000_000, "not before its deadline")
        // Due within a few ms even on a loaded machine; a sleeping poller
        // with no timeout would never have returned at all.
        #expect(firedAt.count == 2 && firedAt[1] < 500_000_000, "\(firedAt)")
        #expect(longestSpinNanos < 500_000_000, "a spin waited \(longestSpinNanos) ns")
        #expect(handler.sleeps > 2, "every spin runs the flush hook")
    }

    /// Spins that find nothing are neither iterations nor work: a spinning
    /// idle loop must not look busy to --flush-linger auto.
    @Test(arguments: IOBackendChoice.allCases)
    func idleSpinsAreNotWork(_ choice: IOBackendChoice) throws {
        let clock = SteppingClock()
        let reactor = try spinningReactor(choice, clock: clock)
        defer { reactor.close() }
        let handler = RecordingHandler()
        for _ in 0..<1_000 { try reactor.runOnce(handler, maxWaitMs: -1) }
        #expect(reactor.loopStatistics.idleSpins == 1_000)
        #expect(reactor.loopStatistics.iterations == 0)
        #expect(reactor.loopStatistics.busyNanos == 0)
        // A timer that fires is a wake-up, and the stretch after it is work.
        reactor.schedule(afterNanos: 0, .test(4), precision: .exact)  // the stepping clock creeps: no rounding
        try reactor.runOnce(handler, maxWaitMs: -1)
        try reactor.runOnce(handler, maxWaitMs: -1)
        #expect(handler.timers == [4])
        #expect(reactor.loopStatistics.iterations == 1)
        #expect(reactor.loopStatistics.busyNanos > 0)
    }

    @Test func aSleepingLoopCountsEveryWakeAsBefore() throws {
        let reactor = Reactor(backend: .epoll(try EpollPoller()), clock: SteppingClock())
        defer { reactor.close() }
        let handler = RecordingHandler()
        for _ in 0..<3 { try reactor.runOnce(handler, maxWaitMs: 0) }
        #expect(reactor.loopStatistics.iterations == 3)
        #expect(reactor.loopStatistics.idleSpins == 0)
    }
}

/// A clock that moves 1 µs each time it is read, so every stretch the
/// statistics measure has a length.
final class SteppingClock: ReactorClock {
    private var now: Int64 = 1_000_000_000
    func monotonicNanos() -> Int64 { now += 1_000; return now }
    func wallUnixNanos() -> Int64 { 1_700_000_000_000_000_000 + now }
}
