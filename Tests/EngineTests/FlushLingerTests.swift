import Testing
@testable import Engine

/// --flush-linger: whether messages are held (a fixed window, or auto by the
/// loop's load), and the one timer that ends the earliest held window. When
/// each connection's window ends is MessageHold's (GRPCServerTests).
@Suite struct FlushLingerTests {
    let ms: Int64 = 1_000_000

    @Test func offNeverHolds() {
        let linger = FlushLinger(windowNanos: 0)
        #expect(!linger.holds(stopping: false))
    }

    @Test func aFixedWindowHoldsUntilStopping() {
        let linger = FlushLinger(windowNanos: 2 * ms)
        #expect(linger.holds(stopping: false))
        #expect(!linger.holds(stopping: true), "nothing lingers on the way out")
    }

    @Test func negativeWindowIsOff() {
        let linger = FlushLinger(windowNanos: -5)
        #expect(!linger.isEnabled)
        #expect(!linger.holds(stopping: false))
    }

    // MARK: The wake-up timer

    @Test func theTimerFollowsTheEarliestDeadline() {
        var linger = FlushLinger(windowNanos: 1 * ms)
        #expect(linger.wakeUp(forDeadline: nil) == nil, "nothing held: no timer")
        #expect(linger.wakeUp(forDeadline: 5 * ms) == 5 * ms)
        #expect(linger.wakeUp(forDeadline: 5 * ms) == nil, "armed for that already")
        // Windows end at their turns, before their deadlines: the timer moves
        // later rather than waking the loop for nothing.
        #expect(linger.wakeUp(forDeadline: 6 * ms) == 6 * ms)
        #expect(linger.wakeUp(forDeadline: 4 * ms) == 4 * ms)
        // Everything went out: the armed timer stays and fires for nothing.
        #expect(linger.wakeUp(forDeadline: nil) == nil)
        #expect(linger.timerDueNanos == 4 * ms)
    }

    @Test func aFiredTimerIsArmedAgainForTheSameDeadline() {
        var linger = FlushLinger(windowNanos: 1 * ms)
        _ = linger.wakeUp(forDeadline: 5 * ms)
        linger.timerFired()
        // Woken before a window ended (it moved): the reactor must not sleep forever.
        #expect(linger.wakeUp(forDeadline: 5 * ms) == 5 * ms)
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
        let linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        #expect(!linger.engaged)
        #expect(!linger.holds(stopping: false))
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
        #expect(linger.holds(stopping: false))
        // A second with no work at all: released, and what waited goes now.
        _ = linger.observeLoad(busyNanos: 90 * ms, nowNanos: 1_100 * ms)
        #expect(!linger.engaged)
        #expect(!linger.holds(stopping: false))
    }

    /// Like `engagement`, but whether the window was stretched after each sample.
    private func stretching(_ linger: inout FlushLinger, shares: [Double]) -> [Bool] {
        var busy: Int64 = 0, now: Int64 = 1_000 * ms
        _ = linger.observeLoad(busyNanos: busy, nowNanos: now)
        return shares.map { share in
            now += 100 * ms
            busy += Int64(share * Double(100 * ms))
            _ = linger.observeLoad(busyNanos: busy, nowNanos: now)
            #expect(linger.windowInEffectNanos == (linger.stretched ? linger.windowNanos * 3 / 2 : linger.windowNanos))
            return linger.stretched
        }
    }

    @Test func aLoopStillBusyWhileLingeringStretchesTheWindowByHalf() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        // Engaged at 90%; the next sample is not judged (work from before the
        // window); then 60% while lingering stretches it, and 47% keeps it;
        // at 35% (headroom) it is back to the budget, still engaged.
        #expect(stretching(&linger, shares: [0.9, 0.6, 0.6, 0.47, 0.47, 0.35])
                == [false, false, true, true, true, false])
        #expect(linger.engaged)
        #expect(linger.windowInEffectNanos == 1 * ms)
    }

    @Test func aLoopThatLingersWithHeadroomKeepsTheBudget() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        // Mid's shape: about 45% while lingering at 1 ms.
        #expect(stretching(&linger, shares: [0.9, 0.45, 0.51, 0.45, 0.54]).allSatisfy { !$0 })
    }

    @Test func releasingEndsTheStretch() {
        var linger = FlushLinger(windowNanos: 1 * ms, followsLoad: true)
        let stretched = stretching(&linger, shares: [0.9, 0.9, 0.9] + [Double](repeating: 0.05, count: 11))
        #expect(stretched[2])
        #expect(!linger.engaged && !linger.stretched)
        #expect(linger.windowInEffectNanos == 1 * ms)
    }

    @Test func aFixedWindowNeverStretches() {
        var linger = FlushLinger(windowNanos: 5 * ms)
        #expect(stretching(&linger, shares: [0.9, 0.9, 0.9]) == [false, false, false])
        #expect(linger.windowInEffectNanos == 5 * ms)
    }

    @Test func aFixedWindowIgnoresLoad() {
        var linger = FlushLinger(windowNanos: 5 * ms)
        #expect(engagement(&linger, shares: [0.0, 0.0]) == [true, true])
        #expect(linger.observeLoad(busyNanos: 0, nowNanos: 10_000 * ms) == nil)
    }
}
