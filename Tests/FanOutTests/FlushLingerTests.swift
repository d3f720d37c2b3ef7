import Testing
@testable import FanOut

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

    @Test func autoEngagesAtHalfBusyAndReleasesBelowAQuarter() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        #expect(engagement(&linger, shares: [0.2, 0.49, 0.5, 0.4, 0.26, 0.25, 0.24, 0.3, 0.49, 0.95])
                == [false, false, true, true, true, true, false, false, false, true])
    }

    @Test func autoHoldsOnlyWhileEngaged() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        _ = engagement(&linger, shares: [0.9])
        #expect(linger.decide(nowNanos: 2_000 * ms, messagesPending: true, stopping: false)
                == .hold(wakeAtNanos: 2_001 * ms))
        _ = engagement(&linger, shares: [0.1])
        // Released with a window open: what waited goes now.
        #expect(linger.decide(nowNanos: 2_000 * ms + 1, messagesPending: true, stopping: false) == .flushAll)
    }

    @Test func aTransitionReportsTheShareThatCausedIt() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        #expect(linger.observeLoad(busyNanos: 0, nowNanos: 0) == nil)
        #expect(linger.observeLoad(busyNanos: 70 * ms, nowNanos: 100 * ms) == 0.7)
        #expect(linger.observeLoad(busyNanos: 130 * ms, nowNanos: 200 * ms) == nil, "60% keeps it engaged")
        #expect(linger.observeLoad(busyNanos: 140 * ms, nowNanos: 300 * ms) == 0.1)
    }

    @Test func aFixedWindowIgnoresLoad() {
        var linger = FlushLinger(windowNanos: 5 * ms)
        #expect(engagement(&linger, shares: [0.0, 0.0]) == [true, true])
        #expect(linger.observeLoad(busyNanos: 0, nowNanos: 10_000 * ms) == nil)
    }
}
