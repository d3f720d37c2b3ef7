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
}
