import Testing
@testable import BinanceFeed

/// Issue 17's reconnect policy on the fake clock: an ending (a connection
/// that reached streaming went away) reconnects at once; only attempts that
/// never reached streaming back off; the attempt budget bounds everything.
@Suite struct FeedReconnectPolicyTests {
    let s = FeedRig.s
    let ms = FeedRig.ms

    /// The retry of `actions`, taken when due; returns the serial opened.
    func retry(_ rig: inout FeedRig, after actions: [FeedAction]) throws -> UInt32 {
        let delay = try #require(actions.retryDelay(from: rig.now), "no retry scheduled: \(actions)")
        rig.advance(delay)
        let opened = rig.retryDue()
        guard case .open(let serial)? = opened.last else {
            Issue.record("the retry opened nothing: \(opened)")
            return 0
        }
        return serial
    }

    @Test func a1001CloseAfterHealthyStreamingReconnectsAtOnceWhateverFailedBefore() throws {
        var rig = try FeedRig()
        _ = rig.start()
        var serial: UInt32 = 1
        for _ in 0..<3 {  // unrelated earlier failures grow the backoff
            serial = try retry(&rig, after: rig.ended(serial, "refused"))
        }
        #expect(rig.machine.backoff.failures == 3)
        _ = rig.opened(serial)
        #expect(rig.trade(0, 100, on: serial) == .publish)
        #expect(rig.machine.backoff.failures == 0, "a first trade proves the connection")
        rig.advance(10 * s)
        let closed = rig.ended(serial, "the server closed the WebSocket with code 1001")
        let delay = try #require(closed.retryDelay(from: rig.now))
        #expect(delay <= 1 * s, "after a healthy connection ended the next attempt waited \(delay / ms) ms")
        // At once, not merely within the 1 s contract: the base backoff alone would wait 0.5–1 s.
        #expect(delay == 0, "the backoff was applied after an ending: \(delay / ms) ms")
        #expect(closed.last == .report(.connectionLost(connection: serial,
                                                       reason: "the server closed the WebSocket with code 1001",
                                                       retryInMs: delay / ms)))
        #expect(try retry(&rig, after: closed) == serial + 1)
    }

    @Test func connectionsThatNeverReachStreamingBackOffMoreEachTime() throws {
        var rig = try FeedRig()
        _ = rig.start()
        var serial: UInt32 = 1
        var previous: Int64 = 0
        for failures in 1...5 {  // accepted, then dropped at once: no trade, not up for the proof time
            _ = rig.opened(serial)
            rig.advance(100 * ms)
            let lost = rig.ended(serial, "connection reset")
            let delay = try #require(lost.retryDelay(from: rig.now))
            let ceiling = (Int64(1) << (failures - 1)) * s
            #expect(delay >= ceiling / 2 && delay <= ceiling, "drop \(failures): waited \(delay / ms) ms")
            #expect(delay >= previous)
            #expect(rig.machine.backoff.failures == failures)
            previous = delay
            serial = try retry(&rig, after: lost)
        }
    }

    @Test func aQuietConnectionThatStaysUpReachesStreaming() throws {
        var rig = try FeedRig(staleTimeout: 10 * s)
        _ = rig.start()
        _ = try retry(&rig, after: rig.ended(1, "refused"))
        _ = rig.opened(2)
        rig.advance(rig.settings.streamingProofNanos)
        rig.pong(2)
        _ = rig.checkLiveness()
        #expect(rig.machine.backoff.failures == 0)
        #expect(rig.ended(2, "the server closed the WebSocket with code 1000").retryDelay(from: rig.now) == 0)
    }

    @Test func aStallIsReplacedWithinTheStaleTimeoutPlusOneSecond() throws {
        var rig = try FeedRig(staleTimeout: 2 * s)
        _ = rig.start()
        _ = try retry(&rig, after: rig.ended(1, "refused"))  // an earlier failure must not delay the replacement
        _ = rig.opened(2)
        _ = rig.trade(0, 100, on: 2)
        let silentFrom = rig.now
        var opened: Int64?
        for _ in 0..<100 where opened == nil {  // ticks until a new attempt is out (≤ 10 s of fake time)
            rig.advance(rig.settings.tickNanos)
            for action in rig.checkLiveness() {
                guard case .end(let serial, let reason) = action else { continue }
                let lost = rig.ended(serial, reason)
                _ = try retry(&rig, after: lost)
                opened = rig.now
            }
            _ = rig.maintain()
        }
        let replacedAfter = try #require(opened, "the stalled connection was never replaced") - silentFrom
        #expect(replacedAfter <= rig.settings.staleTimeoutNanos + 1 * s, "replaced after \(replacedAfter / ms) ms")
        // Detected on the first tick past the stale timeout, and replaced on the spot (no backoff).
        #expect(replacedAfter <= rig.settings.staleTimeoutNanos + rig.settings.tickNanos,
                "replaced after \(replacedAfter / ms) ms: more than one tick after the stale timeout")
        #expect(rig.phaseName == "connecting(3)")
    }

    /// Maintenance whose rotation never completed (the candidate failed),
    /// then Binance closes current: an ending, so the attempt goes out at once.
    @Test func serverShutdownWithoutACompletedRotationReconnectsAtOnce() throws {
        var rig = try FeedRig()
        rig.streamingOnFirst()
        _ = rig.trade(0, 100, on: 1)
        _ = rig.serverShutdown(on: 1)
        #expect(rig.phaseName == "rotating(1 → 2)")
        _ = rig.ended(2, "WebSocket upgrade refused: HTTP 503")
        #expect(rig.phaseName == "streaming(1)")
        rig.advance(2 * s)
        let closed = rig.ended(1, "the server closed the WebSocket with code 1000")
        #expect(closed.retryDelay(from: rig.now) == 0, "\(closed)")
    }

    /// A server that accepts, sends one trade and drops at once reconnects
    /// at once each time: only the budget stops a storm.
    @Test func theBudgetKeepsAttemptsUnderBinancesLimit() throws {
        var rig = try FeedRig()
        _ = rig.start()
        var attempts = [rig.now]
        var serial: UInt32 = 1
        let end = rig.now + 300 * s
        for _ in 0..<1_000 where rig.now < end {
            _ = rig.opened(serial)
            _ = rig.trade(0, Int64(serial), on: serial)
            serial = try retry(&rig, after: rig.ended(serial, "connection reset"))
            attempts.append(rig.now)
        }
        let inWindow = attempts.filter { $0 < end }.count
        let settings = rig.settings
        #expect(inWindow <= settings.attemptBurst + Int(300 * s / settings.attemptIntervalNanos) + 1,
                "\(inWindow) attempts in 5 minutes")
        #expect(inWindow < 300, "\(inWindow) attempts in 5 minutes: Binance allows 300")
        #expect(inWindow >= 150, "the budget should not starve reconnects: \(inWindow)")
        let spacing = zip(attempts.dropFirst(settings.attemptBurst), attempts.dropFirst(settings.attemptBurst + 1))
            .map { $1 - $0 }
        #expect(spacing.allSatisfy { $0 >= settings.attemptIntervalNanos }, "after the burst, one attempt per interval")
    }
}

@Suite struct AttemptBudgetTests {
    @Test func aBurstThenOnePerInterval() {
        var budget = AttemptBudget(burst: 3, intervalNanos: 1_000)
        var now: Int64 = 10_000
        for _ in 0..<3 {
            #expect(budget.earliest(atOrAfter: now) == now)
            budget.spend(nowNanos: now)
        }
        #expect(budget.earliest(atOrAfter: now) == now + 1_000)
        now += 1_000
        budget.spend(nowNanos: now)
        #expect(budget.earliest(atOrAfter: now) == now + 1_000)
        now += 10_000  // idle: the bucket fills again, but never beyond the burst
        for _ in 0..<3 { budget.spend(nowNanos: now) }
        #expect(budget.earliest(atOrAfter: now) == now + 1_000)
    }
}
