import Testing
@testable import BinanceFeed

/// The feed machine's reconnect rules on a fake clock: backoff between
/// attempts, its reset after a healthy stream, stale replacement and the
/// handshake timeout. No socket is opened: the rig scripts every outcome.
@Suite struct FeedReconnectTests {
    let s = FeedRig.s
    let ms = FeedRig.ms

    @Test func startOpensTheFirstConnection() throws {
        var rig = try FeedRig()
        #expect(rig.start() == [.report(.connecting(connection: 1, url: FeedRig.url, failures: 0, purpose: .startup)),
                                .open(serial: 1)])
        #expect(rig.phaseName == "connecting(1)")
        #expect(rig.start() == [], "a second start must not open another connection")
        #expect(rig.opened(1) == [])
        #expect(rig.phaseName == "streaming(1)")
    }

    @Test func failedAttemptsWaitLongerEachTimeUntilAStreamStaysHealthy() throws {
        var rig = try FeedRig()
        _ = rig.start()
        var previous: Int64 = 0
        for (failures, ceiling) in [1, 2, 4, 8, 16].map({ $0 * s }).enumerated() {
            let serial = UInt32(failures + 1)
            let actions = rig.ended(serial, "refused")
            let delay = try #require(actions.retryDelay(from: rig.now), "no retry scheduled after attempt \(serial)")
            #expect(delay >= ceiling / 2 && delay <= ceiling, "attempt \(serial) failed: waited \(delay / ms) ms")
            #expect(delay >= previous, "the wait shrank: \(previous / ms) ms, then \(delay / ms) ms")
            #expect(actions.last == .report(.connectionFailed(connection: serial, reason: "refused",
                                                              retryInMs: delay / ms, failures: failures + 1)))
            #expect(rig.phaseName == "backoff")
            previous = delay
            rig.advance(delay - 5 * ms)
            #expect(rig.retryDue() == [.scheduleRetry(atNanos: rig.now + 5 * ms)], "a timer 5 ms early must wait again")
            rig.advance(5 * ms)
            #expect(rig.retryDue() == [.report(.connecting(connection: serial + 1, url: FeedRig.url,
                                                           failures: failures + 1, purpose: .reconnect)),
                                       .open(serial: serial + 1)])
        }
        _ = rig.opened(6)
        rig.advance(rig.settings.streamingProofNanos - ms)
        _ = rig.checkLiveness()
        #expect(rig.machine.backoff.failures == 5, "reset before the stream reached streaming")
        rig.advance(ms)
        rig.pong(6)
        _ = rig.checkLiveness()
        #expect(rig.machine.backoff.failures == 0, "a connection that stayed up must reset the backoff")
        let lost = rig.ended(6, "connection reset")
        // Changed with issue 17: after a connection that reached streaming the
        // next attempt goes out at once (it used to wait the base backoff, 0.5–1 s).
        #expect(lost.retryDelay(from: rig.now) == 0, "after a streaming connection the next attempt goes out at once")
        #expect(lost.last == .report(.connectionLost(connection: 6, reason: "connection reset", retryInMs: 0)))
    }

    @Test func retryAfterIsAFloor() throws {
        var rig = try FeedRig()
        _ = rig.start()
        let actions = rig.ended(1, "WebSocket upgrade refused: 429", retryAfterSeconds: 7)
        #expect(actions.retryDelay(from: rig.now) == 7 * s)
    }

    @Test func aSilentConnectionIsReplacedAfterTheStaleTimeout() throws {
        var rig = try FeedRig(staleTimeout: 2 * s)
        rig.streamingOnFirst()
        // Our ping goes out on the first tick; its pong keeps a quiet connection alive.
        #expect(rig.checkLiveness() == [.ping(serial: 1)])
        rig.advance(2 * s - ms)
        rig.pong(1)
        rig.advance(2 * s - ms)
        #expect(rig.checkLiveness() == [.ping(serial: 1)], "silent for less than the stale timeout")
        rig.advance(ms)
        let stale = rig.checkLiveness()
        #expect(stale == [.report(.stale(connection: 1, silentMs: 2_000)),
                          .end(serial: 1, reason: "stale: no frame for 2000 ms")])
        let lost = rig.ended(1, "stale: no frame for 2000 ms")
        let delay = try #require(lost.retryDelay(from: rig.now))
        #expect(lost.last == .report(.connectionLost(connection: 1, reason: "stale: no frame for 2000 ms",
                                                     retryInMs: delay / ms)))
        rig.advance(delay)
        #expect(rig.retryDue().last == .open(serial: 2))
        #expect(rig.opened(2) == [])
        #expect(rig.phaseName == "streaming(2)")
    }

    @Test func anAttemptThatNeverOpensIsEndedAtTheHandshakeTimeout() throws {
        var rig = try FeedRig()
        _ = rig.start()
        rig.advance(rig.settings.handshakeTimeoutNanos - ms)
        #expect(rig.checkLiveness() == [])
        rig.advance(ms)
        #expect(rig.checkLiveness() == [.end(serial: 1, reason: "no WebSocket after 10000 ms (connect, TLS and upgrade timed out)")])
    }

    @Test func theSameSeedGivesTheSameWaits() throws {
        var first = try FeedRig(seed: 42)
        var second = try FeedRig(seed: 42)
        _ = first.start()
        _ = second.start()
        #expect(first.ended(1, "refused") == second.ended(1, "refused"))
    }
}
