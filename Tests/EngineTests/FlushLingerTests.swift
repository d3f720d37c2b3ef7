import Testing
@testable import Engine

/// --flush-linger's window: when messages are held, when they go, and that a
/// held window always has a timer that will end it.
@Suite struct FlushLingerTests {
    let ms: Int64 = 1_000_000

    @Test func offFlushesEveryIteration() {
        var linger = FlushLinger(windowNanos: 0)
        #expect(linger.decide(nowNanos: 0, messagesPending: true, stopping: false) == .flushAll)
        #expect(linger.decide(nowNanos: 1, messagesPending: true, stopping: false) == .flushAll)
        #expect(linger.openedAtNanos == nil)
    }

    @Test func holdsUntilTheWindowCloses() {
        var linger = FlushLinger(windowNanos: 2 * ms)
        #expect(linger.decide(nowNanos: 10 * ms, messagesPending: true, stopping: false) == .hold(wakeAtNanos: 12 * ms))
        // The window stays where it opened; its timer is already armed.
        #expect(linger.decide(nowNanos: 11 * ms, messagesPending: true, stopping: false) == .hold(wakeAtNanos: nil))
        linger.timerFired()
        #expect(linger.decide(nowNanos: 12 * ms, messagesPending: true, stopping: false) == .flushAll)
        #expect(linger.openedAtNanos == nil)
        // The next message opens a new window with its own timer.
        #expect(linger.decide(nowNanos: 13 * ms, messagesPending: true, stopping: false) == .hold(wakeAtNanos: 15 * ms))
    }

    @Test func aTimerThatFiresEarlyIsArmedAgain() {
        var linger = FlushLinger(windowNanos: 2 * ms)
        _ = linger.decide(nowNanos: 0, messagesPending: true, stopping: false)
        linger.timerFired()
        // Woken before the deadline (a coarse clock): hold, and arm again so the reactor does not sleep forever.
        #expect(linger.decide(nowNanos: 2 * ms - 1, messagesPending: true, stopping: false) == .hold(wakeAtNanos: 2 * ms))
    }

    @Test func aStaleTimerFromAnOlderWindowLeadsToANewOne() {
        var linger = FlushLinger(windowNanos: 2 * ms)
        _ = linger.decide(nowNanos: 0, messagesPending: true, stopping: false)  // timer for 2 ms
        // Everything went out early (an urgent flush took it): the window closes.
        #expect(linger.decide(nowNanos: 1 * ms, messagesPending: false, stopping: false) == .flushAll)
        // A new window opens while the old timer is still armed: no second timer...
        #expect(linger.decide(nowNanos: 1 * ms + 1, messagesPending: true, stopping: false) == .hold(wakeAtNanos: nil))
        // ...the old one fires at 2 ms and the next decision arms one for this window.
        linger.timerFired()
        #expect(linger.decide(nowNanos: 2 * ms, messagesPending: true, stopping: false) == .hold(wakeAtNanos: 3 * ms + 1))
        #expect(linger.decide(nowNanos: 3 * ms + 1, messagesPending: true, stopping: false) == .flushAll)
    }

    @Test func aWindowOpenedOnlyForUrgentOutputDoesNotCarryOver() {
        var linger = FlushLinger(windowNanos: 2 * ms)
        _ = linger.decide(nowNanos: 0, messagesPending: true, stopping: false)  // a PING ACK looked pending
        linger.nothingHeld()  // it went out as urgent; nothing was held
        #expect(linger.openedAtNanos == nil)
        // A message just before the old window would have closed waits a whole window of its own.
        linger.timerFired()
        #expect(linger.decide(nowNanos: 2 * ms - 1, messagesPending: true, stopping: false)
                == .hold(wakeAtNanos: 4 * ms - 1))
    }

    @Test func nothingLingersWhileStopping() {
        var linger = FlushLinger(windowNanos: 50 * ms)
        _ = linger.decide(nowNanos: 0, messagesPending: true, stopping: false)
        #expect(linger.decide(nowNanos: 1, messagesPending: true, stopping: true) == .flushAll)
        #expect(linger.openedAtNanos == nil)
    }

    @Test func negativeWindowIsOff() {
        var linger = FlushLinger(windowNanos: -5)
        #expect(!linger.isEnabled)
        #expect(linger.decide(nowNanos: 0, messagesPending: true, stopping: false) == .flushAll)
    }

    // MARK: --flush-linger auto

    /// Feeds load samples 100 ms apart with the given busy shares; returns
    /// whether the window was engaged after each.
    private func engagement(_ linger: inout FlushLinger, shares: [Double]) -> [Bool] {
        var busy: Int64 = 0, now: Int64 = 1_000 * ms
        _ = linger.observeLoad(busyNanos: busy, nowNanos: now)  // the first sample only sets the baseline
        return shares.map { share in
            now += 100 * ms
            busy += Int64(share * Double(100 * ms))
            _ = linger.observeLoad(busyNanos: busy, nowNanos: now)
            return linger.engaged
        }
    }

    @Test func autoStartsReleasedAndWritesEveryIteration() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        #expect(!linger.engaged)
        #expect(linger.decide(nowNanos: 0, messagesPending: true, stopping: false) == .flushAll)
    }

    @Test func autoEngagesAtHalfBusy() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        #expect(engagement(&linger, shares: [0.2, 0.49, 0.5, 0.3, 0.25]) == [false, false, true, true, true])
    }

    @Test func autoReleasesAfterASecondUnderAQuarter() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        let quiet = [Double](repeating: 0.1, count: 10)
        // Nine quiet samples are 0.9 s: still engaged; the tenth makes a second.
        #expect(engagement(&linger, shares: [0.9] + quiet) == [true] + [Bool](repeating: true, count: 9) + [false])
    }

    @Test func aBusySampleRestartsTheQuietSecond() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        let shares = [0.9] + [Double](repeating: 0.1, count: 9) + [0.3] + [Double](repeating: 0.1, count: 10)
        let engaged = engagement(&linger, shares: shares)
        #expect(engaged.dropLast().allSatisfy { $0 }, "released before a whole quiet second")
        #expect(engaged.last == false)
    }

    @Test func shortSamplesAreMergedIntoALongerOne() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        #expect(linger.observeLoad(busyNanos: 0, nowNanos: 0) == nil)
        // 10 ms samples, each all work or all sleep: none is judged on its own.
        #expect(linger.observeLoad(busyNanos: 10 * ms, nowNanos: 10 * ms) == nil)
        #expect(!linger.engaged)
        #expect(linger.observeLoad(busyNanos: 10 * ms, nowNanos: 50 * ms) == nil)
        // At 100 ms the sample is 60% busy.
        #expect(linger.observeLoad(busyNanos: 60 * ms, nowNanos: 100 * ms) == 0.6)
        #expect(linger.engaged)
    }

    @Test func autoHoldsOnlyWhileEngaged() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        _ = linger.observeLoad(busyNanos: 0, nowNanos: 0)
        _ = linger.observeLoad(busyNanos: 90 * ms, nowNanos: 100 * ms)
        #expect(linger.decide(nowNanos: 150 * ms, messagesPending: true, stopping: false)
                == .hold(wakeAtNanos: 151 * ms))
        // A second with no work at all.
        _ = linger.observeLoad(busyNanos: 90 * ms, nowNanos: 1_100 * ms)
        #expect(!linger.engaged)
        // Released with a window open: what waited goes now.
        #expect(linger.decide(nowNanos: 1_100 * ms + 1, messagesPending: true, stopping: false) == .flushAll)
    }

    /// --flush-budget: once engaged, a message waits at most the budget, however short.
    @Test(arguments: [Int64(500_000), 1_000_000, 2_000_000])
    func autoWaitsAtMostItsBudget(_ budgetNanos: Int64) {
        var linger = FlushLinger(windowNanos: budgetNanos, followsLoad: true)
        _ = engagement(&linger, shares: [0.8])
        #expect(linger.decide(nowNanos: 0, messagesPending: true, stopping: false) == .hold(wakeAtNanos: budgetNanos))
        #expect(linger.decide(nowNanos: budgetNanos - 1, messagesPending: true, stopping: false) == .hold(wakeAtNanos: nil))
        #expect(linger.decide(nowNanos: budgetNanos, messagesPending: true, stopping: false) == .flushAll)
    }

    @Test func aFixedWindowIgnoresLoad() {
        var linger = FlushLinger(windowNanos: 5 * ms)
        #expect(engagement(&linger, shares: [0.0, 0.0]) == [true, true])
        #expect(linger.observeLoad(busyNanos: 0, nowNanos: 10_000 * ms) == nil)
    }
}
