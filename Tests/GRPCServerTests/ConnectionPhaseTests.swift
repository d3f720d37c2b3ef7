import Testing
@testable import GRPCServer

/// The connection's life without a socket: each test feeds events to
/// ConnectionPhase and checks the action the hub would apply.
@Suite struct ConnectionPhaseTests {
    /// The clock the hub would read, moved by hand.
    struct FakeClock {
        var nowNanos: Int64 = 1_000_000_000
        mutating func advance(millis: Int64) { nowNanos += millis * 1_000_000 }
    }

    let sessionEnded = "HTTP/2 session ended"

    /// A server drain up to the final GOAWAY, as the hub drives it.
    func drained() -> ConnectionPhase {
        var phase = ConnectionPhase.open
        _ = phase.drainRequested()
        _ = phase.goAwayNoticeWritten()
        _ = phase.drainPingAcknowledged()
        return phase
    }

    @Test func drainSendsNoticeThenPingThenFinalGoAway() {
        var phase = ConnectionPhase.open
        #expect(phase.drainRequested() == .sendGoAwayNotice)
        #expect(phase == .draining(.init(goAway: .noticeQueued)))
        #expect(phase.servesSession, "admitted streams carry on during the drain")
        #expect(phase.drainRequested() == .none, "a second drain request sends no second notice")
        #expect(phase.drainPingAcknowledged() == .none, "no PING of ours is out yet: an ACK proves nothing")
        #expect(phase.goAwayNoticeWritten() == .sendDrainPing)
        #expect(phase.goAwayNoticeWritten() == .none, "one PING per notice")
        #expect(phase.drainPingAcknowledged() == .sendFinalGoAway)
        #expect(phase == .draining(.init(goAway: .finalSent)))
        #expect(phase.finalGoAwayRequested() == .none, "the final GOAWAY goes out once")
    }

    @Test func finalGoAwayWithoutAnsweredPing() {
        var phase = ConnectionPhase.open
        _ = phase.drainRequested()
        _ = phase.goAwayNoticeWritten()
        #expect(phase.finalGoAwayRequested() == .sendFinalGoAway, "the PING timeout sends it anyway")
        #expect(phase.drainPingAcknowledged() == .none, "a late ACK changes nothing")
    }

    @Test func flushesDuringTheDrainKeepTheConnection() {
        var phase = drained()
        #expect(phase.outputFlushed(.blocked, lingerDeadlineNanos: nil) == .watchWritable)
        #expect(phase.outputFlushed(.drained, lingerDeadlineNanos: nil) == .stopWatchingWritable)
        #expect(phase == .draining(.init(goAway: .finalSent)))
    }

    @Test func sessionEndClosesAtOnceWhenTheServerIsNotStopping() {
        var phase = drained()
        #expect(phase.outputFlushed(.sessionEnded, lingerDeadlineNanos: nil) == .close(reason: sessionEnded, notifyPeer: true))
        #expect(phase == .closed)
    }

    @Test func lingerEndsAtItsDeadline() {
        var clock = FakeClock()
        let deadline = clock.nowNanos + 500_000_000
        var phase = drained()
        #expect(phase.outputFlushed(.sessionEnded, lingerDeadlineNanos: deadline) == .shutDownWriting,
                "after the final GOAWAY the session ends in a half close, not a close")
        #expect(phase == .lingering(.init(reason: sessionEnded, deadlineNanos: deadline)))
        #expect(!phase.servesSession && !phase.writesOutput)
        clock.advance(millis: 499)
        #expect(phase.lingerDeadlinePassed(nowNanos: clock.nowNanos) == .none)
        clock.advance(millis: 1)
        #expect(phase.lingerDeadlinePassed(nowNanos: clock.nowNanos) == .close(reason: sessionEnded, notifyPeer: false),
                "close_notify went out with the SHUT_WR")
        #expect(phase == .closed)
        clock.advance(millis: 1)
        #expect(phase.lingerDeadlinePassed(nowNanos: clock.nowNanos) == .none)
    }

    @Test func peerEOFDuringTheLingerCloses() throws {
        var clock = FakeClock()
        var phase = drained()
        _ = phase.outputFlushed(.sessionEnded, lingerDeadlineNanos: clock.nowNanos + 500_000_000)
        try #require(phase.isLingering, "the session's end while stopping starts the linger")
        clock.advance(millis: 20)
        #expect(phase.lingerDeadlinePassed(nowNanos: clock.nowNanos) == .none)
        #expect(phase.peerClosed() == .close(reason: sessionEnded, notifyPeer: false),
                "the close reports why the session ended, not the EOF it waited for")
        #expect(phase == .closed)
    }

    @Test func readErrorDuringTheLingerCloses() throws {
        var phase = drained()
        _ = phase.outputFlushed(.sessionEnded, lingerDeadlineNanos: 10)
        try #require(phase.isLingering, "the session's end while stopping starts the linger")
        #expect(phase.failed("read: ECONNRESET") == .close(reason: sessionEnded, notifyPeer: false))
    }

    @Test func writeErrorClosesAtOnce() {
        var phase = ConnectionPhase.open
        #expect(phase.outputFlushed(.failed("write: EPIPE"), lingerDeadlineNanos: 10) == .close(reason: "write: EPIPE", notifyPeer: true),
                "a broken socket does not linger, even while the server stops")
        #expect(phase == .closed)
    }

    @Test func peerEOFWhileOpenCloses() {
        var phase = ConnectionPhase.open
        #expect(phase.peerClosed() == .close(reason: "peer closed the connection", notifyPeer: true))
    }

    @Test func aSecondCloseRequestIsIdempotent() {
        var phase = ConnectionPhase.open
        #expect(phase.closeRequested("server stopped") == .close(reason: "server stopped", notifyPeer: true))
        #expect(phase.closeRequested("server stopped") == .none)
        #expect(phase.closeRequested("write idle") == .none)
        #expect(phase.drainRequested() == .none && phase.finalGoAwayRequested() == .none)
        #expect(phase.sessionFailed("late") == .none)
        #expect(phase == .closed)
    }

    @Test func closeRequestedWhileLingeringSkipsCloseNotify() throws {
        var phase = drained()
        _ = phase.outputFlushed(.sessionEnded, lingerDeadlineNanos: 10)
        try #require(phase.isLingering, "the session's end while stopping starts the linger")
        #expect(phase.closeRequested("server stopped") == .close(reason: "server stopped", notifyPeer: false))
    }

    @Test func aFailureInsideTheSessionClosesAfterTheNextFlush() {
        var phase = ConnectionPhase.open
        #expect(phase.sessionFailed("GOAWAY sent: ENHANCE_YOUR_CALM") == .flush,
                "inside an nghttp2 callback the session must not be freed: flush, then close")
        #expect(!phase.servesSession, "no more input into an abandoned session")
        #expect(phase.writesOutput, "its error GOAWAY still goes out")
        #expect(phase.sessionFailed("second") == .none, "the first reason is the one reported")
        #expect(phase.finalGoAwayRequested() == .none, "no graceful GOAWAY after an error one")
        #expect(phase.outputFlushed(.blocked, lingerDeadlineNanos: 10) == .close(reason: "GOAWAY sent: ENHANCE_YOUR_CALM", notifyPeer: true),
                "a failed session neither waits for EPOLLOUT nor lingers")
    }

    @Test func aFailureDuringTheDrainKeepsTheDrainsFirstReason() {
        var phase = ConnectionPhase.open
        _ = phase.drainRequested()
        #expect(phase.sessionFailed("nghttp2_submit_response: out of memory") == .flush)
        #expect(phase.goAwayNoticeWritten() == .none, "an abandoned session sends no drain PING")
        #expect(phase.outputFlushed(.sessionEnded, lingerDeadlineNanos: nil)
                == .close(reason: "nghttp2_submit_response: out of memory", notifyPeer: true))
    }
}
