import Testing
@testable import GRPCServer

@Suite struct WriteIdleWatchTests {
    let second: Int64 = 1_000_000_000

    @Test func nothingWaitingIsNeverIdle() {
        var watch = WriteIdleWatch()
        for tick in 0..<10 {
            #expect(watch.observe(ConnectionBacklog(), outputWaiting: false, nowNanos: Int64(tick) * second) == 0)
        }
    }

    @Test func queuedDataThatNeverLeavesCountsFromTheFirstSweepThatSawIt() {
        var watch = WriteIdleWatch()
        var backlog = ConnectionBacklog()
        backlog.queued(500 - backlog.queuedBytes)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 10 * second) == 0)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 11 * second) == second)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 13 * second) == 3 * second)
    }

    @Test func dataProgressRestartsTheClock() {
        var watch = WriteIdleWatch()
        var backlog = ConnectionBacklog()
        backlog.queued(500 - backlog.queuedBytes)
        _ = watch.observe(backlog, outputWaiting: false, nowNanos: 0)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 2 * second) == 2 * second)
        backlog.dataBytesSent += 100
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 3 * second) == 0)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 4 * second) == second)
    }

    /// A peer with its windows shut that answers PINGs: control frames reach
    /// the socket, stream data does not. Still stalled.
    @Test func socketProgressDoesNotCountWhileStreamDataWaits() {
        var watch = WriteIdleWatch()
        var backlog = ConnectionBacklog()
        backlog.queued(500 - backlog.queuedBytes)
        _ = watch.observe(backlog, outputWaiting: false, nowNanos: 0)
        backlog.socketBytesWritten += 17
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 5 * second) == 5 * second)
    }

    @Test func aFullSocketWithNoStreamDataIsJudgedBySocketProgress() {
        var watch = WriteIdleWatch()
        var backlog = ConnectionBacklog()
        _ = watch.observe(backlog, outputWaiting: true, nowNanos: 0)
        #expect(watch.observe(backlog, outputWaiting: true, nowNanos: 2 * second) == 2 * second)
        backlog.socketBytesWritten += 4096
        #expect(watch.observe(backlog, outputWaiting: true, nowNanos: 3 * second) == 0)
    }

    /// An abandoned stream whose trailers wait behind a window that never
    /// opens has nothing queued, yet still owes output.
    @Test func trailersOwedCountAsWaiting() {
        var watch = WriteIdleWatch()
        var backlog = ConnectionBacklog()
        backlog.finishingStreams = 1
        _ = watch.observe(backlog, outputWaiting: false, nowNanos: 0)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 30 * second) == 30 * second)
    }

    @Test func drainingCompletelyForgetsTheStall() {
        var watch = WriteIdleWatch()
        var backlog = ConnectionBacklog()
        backlog.queued(1 - backlog.queuedBytes)
        _ = watch.observe(backlog, outputWaiting: false, nowNanos: 0)
        _ = watch.observe(backlog, outputWaiting: false, nowNanos: 5 * second)
        backlog.queued(0 - backlog.queuedBytes)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 6 * second) == 0)
        backlog.queued(1 - backlog.queuedBytes)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 7 * second) == 0)
        #expect(watch.observe(backlog, outputWaiting: false, nowNanos: 8 * second) == second)
    }
}
