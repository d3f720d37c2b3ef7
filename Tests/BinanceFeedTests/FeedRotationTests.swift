import Testing
@testable import BinanceFeed

/// Rotation on a fake clock with scripted trades: the candidate comes up
/// while current still streams, the switch waits until their trades overlap,
/// and only then is current closed. Also Binance's maintenance notice, a
/// failed candidate, a current lost mid-rotation, and shutdown.
@Suite struct FeedRotationTests {
    let s = FeedRig.s
    let ms = FeedRig.ms

    @Test func rotationIsMakeBeforeBreak() throws {
        var rig = try FeedRig()
        rig.streamingOnFirst()
        #expect(rig.trade(0, 100, on: 1) == .publish)
        #expect(rig.trade(1, 500, on: 1) == .publish)
        rig.advance(rig.settings.maxConnectionAgeNanos - ms)
        #expect(rig.maintain() == [], "rotated before the maximum age")
        rig.advance(ms)
        #expect(rig.maintain() == [.report(.connecting(connection: 2, url: FeedRig.url, failures: 0, purpose: .rotation)),
                                   .report(.rotationStarted(reason: .maxAge, connection: 1, candidate: 2)),
                                   .open(serial: 2)])
        #expect(rig.phaseName == "rotating(1 → 2)")

        // The candidate comes up and runs ahead; current still delivers.
        #expect(rig.opened(2) == [])
        #expect(rig.trade(0, 102, on: 2) == .held)
        #expect(rig.trade(1, 502, on: 2) == .held)
        #expect(rig.trade(0, 101, on: 1) == .publish)
        #expect(rig.trade(1, 501, on: 1) == .publish)
        let early = rig.settle()
        #expect(early.serialsTornDown.isEmpty, "current was torn down before its trades met the candidate's: \(early)")
        #expect(early == [])
        #expect(rig.phaseName == "rotating(1 → 2)")

        // Current delivers a trade the candidate holds: the overlap is shown.
        #expect(rig.trade(0, 102, on: 1) == .publish)
        let switched = rig.settle()
        #expect(switched == [.close(serial: 1, reason: "rotated to a newer connection"),
                             .publishHeld([FeedRig.trade(0, 102), FeedRig.trade(1, 502)]),
                             .completeRotation(from: 1, to: 2, proven: true, duplicatesBefore: 0)])
        #expect(rig.phaseName == "streaming(2)")
        #expect(rig.machine.retiring.map(\.serial) == [1])
        // The driver publishes the held trades through the sequencer.
        #expect(rig.machine.admit(FeedRig.trade(0, 102)) == .duplicate)
        #expect(rig.machine.admit(FeedRig.trade(1, 502)) == .publish)
        #expect(rig.trade(0, 103, on: 1) == .ignored, "a retiring connection's trades come from the candidate")
        #expect(rig.trade(0, 103, on: 2) == .publish)
        #expect(rig.ended(1, "the server closed the WebSocket with code 1000") == [])
        #expect(rig.machine.retiring.isEmpty)
    }

    @Test func aCandidateBehindCurrentSwitchesOnItsFirstTrade() throws {
        var rig = try FeedRig()
        _ = rig.rotatingToSecond()
        _ = rig.trade(0, 100, on: 1)
        _ = rig.opened(2)
        #expect(rig.trade(0, 100, on: 2) == .held)
        #expect(rig.settle().first == .close(serial: 1, reason: "rotated to a newer connection"))
    }

    @Test func serverShutdownNoticeStartsARotationAtOnce() throws {
        var rig = try FeedRig()
        rig.streamingOnFirst()
        _ = rig.trade(0, 100, on: 1)
        #expect(rig.serverShutdown(on: 1) == [
            .report(.serverShutdownNotice(connection: 1, eventTimeMs: 1_723_100_000_000)),
            .report(.connecting(connection: 2, url: FeedRig.url, failures: 0, purpose: .rotation)),
            .report(.rotationStarted(reason: .serverShutdown, connection: 1, candidate: 2)),
            .open(serial: 2),
        ])
        #expect(rig.serverShutdown(on: 1) == [.report(.serverShutdownNotice(connection: 1, eventTimeMs: 1_723_100_000_000))],
                "a repeated notice must not start a second rotation")
        _ = rig.opened(2)
        #expect(rig.trade(0, 101, on: 2) == .held)
        #expect(rig.settle() == [])
        #expect(rig.trade(0, 101, on: 1) == .publish)
        #expect(rig.settle().serialsTornDown == [1])
        #expect(rig.phaseName == "streaming(2)")
    }

    @Test func aFailedCandidateIsRetriedAfterABackoffWhileCurrentStreams() throws {
        var rig = try FeedRig()
        _ = rig.rotatingToSecond()
        let failed = rig.ended(2, "refused")
        guard case .report(.connectionFailed(2, "refused", let retryInMs?, 1)) = failed.first, failed.count == 1,
              case .streaming(let streaming) = rig.machine.phase, let deferred = streaming.deferredRotation else {
            Issue.record("want current streaming on and one connectionFailed report for the candidate, got \(failed)")
            return
        }
        #expect(deferred.notBeforeNanos - rig.now >= s / 2 && retryInMs <= 1_000, "the first wait is 0.5-1 s")
        #expect(rig.trade(0, 100, on: 1) == .publish, "current must keep delivering")
        rig.advance(deferred.notBeforeNanos - rig.now - ms)
        #expect(rig.maintain() == [])
        rig.advance(ms)
        #expect(rig.maintain().suffix(2) == [.report(.rotationStarted(reason: .maxAge, connection: 1, candidate: 3)),
                                             .open(serial: 3)])
    }

    @Test func currentLostMidRotationHandsOverToAnOpenCandidate() throws {
        var rig = try FeedRig()
        _ = rig.rotatingToSecond()
        _ = rig.opened(2)
        _ = rig.trade(0, 100, on: 2)
        #expect(rig.ended(1, "connection reset") == [
            .report(.connectionLost(connection: 1, reason: "connection reset", retryInMs: nil)),
            .publishHeld([FeedRig.trade(0, 100)]),
            .completeRotation(from: 0, to: 2, proven: false, duplicatesBefore: 0),
        ])
        #expect(rig.phaseName == "streaming(2)")
    }

    @Test func currentLostBeforeTheCandidateOpensLeavesItConnecting() throws {
        var rig = try FeedRig()
        _ = rig.rotatingToSecond()
        #expect(rig.ended(1, "connection reset") == [
            .report(.connectionLost(connection: 1, reason: "connection reset", retryInMs: nil)),
        ])
        #expect(rig.phaseName == "connecting(2)")
    }

    @Test func aQuietMarketSwitchesAtTheOverlapTimeout() throws {
        var rig = try FeedRig()
        _ = rig.rotatingToSecond()
        _ = rig.opened(2)
        rig.advance(rig.settings.rotationOverlapTimeoutNanos - ms)
        _ = rig.maintain()
        #expect(rig.settle() == [])
        rig.advance(ms)
        _ = rig.maintain()
        #expect(rig.settle().serialsTornDown == [1])
    }

    @Test func shutdownClosesEveryConnectionAndNothingReconnects() throws {
        var rig = try FeedRig()
        _ = rig.rotatingToSecond()
        #expect(rig.machine.shutdown(nowNanos: rig.now) == [.close(serial: 1, reason: "tickwire shutting down"),
                                                            .close(serial: 2, reason: "tickwire shutting down")])
        #expect(rig.ended(2, "closed before it opened (tickwire shutting down)") == [])
        #expect(rig.machine.holdsConnections)
        rig.advance(rig.settings.closeTimeoutNanos)
        #expect(rig.maintain() == [.end(serial: 1, reason: "no close reply within 2000 ms")])
        #expect(rig.ended(1, "no close reply within 2000 ms") == [])
        #expect(rig.machine.isFinished)
        #expect(rig.retryDue() == [])
        #expect(rig.start() == [])
    }
}
