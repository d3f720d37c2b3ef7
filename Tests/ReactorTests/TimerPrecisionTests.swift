import Testing
@testable import Reactor

/// Sub-millisecond timers (--flush-budget below 1 ms) and the rounding that
/// keeps every other timer from costing a wake-up of its own.
@Suite struct TimerPrecisionTests {
    @Test func millisecondDeadlinesRoundUpToTheClocksNextWholeMillisecond() {
        #expect(TimerPrecision.millisecond.deadline(5_000_000) == 5_000_000, "already whole")
        #expect(TimerPrecision.millisecond.deadline(5_000_001) == 6_000_000)
        #expect(TimerPrecision.millisecond.deadline(5_999_999) == 6_000_000)
        #expect(TimerPrecision.millisecond.deadline(1) == 1_000_000)
        #expect(TimerPrecision.millisecond.deadline(-1_500_000) == -1_000_000, "up, never early, below zero too")
        #expect(TimerPrecision.millisecond.deadline(Int64.max) == Int64.max, "no overflow")
        #expect(TimerPrecision.exact.deadline(5_000_001) == 5_000_001)
    }

    @Test func millisecondTimersDueInOneMillisecondShareAWakeUp() {
        var queue = TimerQueue()
        for offset: Int64 in [100_000, 400_000, 900_000] {
            _ = queue.schedule(deadlineNanos: TimerPrecision.millisecond.deadline(7_000_000 + offset), token: .test(1))
        }
        #expect(queue.timeoutNanos(nowNanos: 7_000_000) == 1_000_000)
        var fired = 0
        while queue.popExpired(nowNanos: 8_000_000) != nil { fired += 1 }
        #expect(fired == 3)
    }
}

@Suite(.serialized) struct ExactTimerLoopTests {
    /// A 300 µs exact timer, twenty times over: each fires after its deadline,
    /// and typically well before the millisecond a rounded wait would take.
    /// The median, not every one, so a descheduled moment on a loaded
    /// machine does not fail it; with millisecond waits every one is ≥ 700 µs late.
    @Test(arguments: IOBackendChoice.allCases)
    func anExactTimerEndsASleepInMicroseconds(_ choice: IOBackendChoice) throws {
        let reactor = try makeReactor(choice)
        defer { reactor.close() }
        let handler = RecordingHandler()
        let clock = SystemClock()
        var lateness: [Int64] = []
        for round in 0..<20 {
            let deadline = clock.monotonicNanos() + 300_000
            reactor.schedule(atNanos: deadline, .test(round), precision: .exact)
            for _ in 0..<100 where handler.timers.count <= round {
                try reactor.runOnce(handler, maxWaitMs: 1_000)
            }
            let firedAt = clock.monotonicNanos()
            #expect(handler.timers.count == round + 1)
            #expect(firedAt >= deadline, "never early")
            lateness.append(firedAt - deadline)
        }
        lateness.sort()
        #expect(lateness[lateness.count / 2] < 500_000, "lateness in ns, sorted: \(lateness)")
    }
}
