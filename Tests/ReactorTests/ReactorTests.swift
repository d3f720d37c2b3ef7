import CTickwireShim
import Glibc
import Testing
@testable import Reactor

@Suite struct KernelLayoutTests {
    @Test func epollEventIsPackedAsTheKernelExpects() {
        #expect(tw_epoll_event_size() == 12)
        #expect(MemoryLayout<epoll_event>.size == 12)
    }

    @Test func eventTokenRoundTrips() {
        let token = EventToken(kind: .connection, slot: 4_000_000_000, generation: 0xABCDEF)
        #expect(EventToken(packed: token.packed) == token)
        #expect(EventToken(packed: 0) == nil, "kind 0 is not a valid source")
    }
}

@Suite struct TimerQueueTests {
    @Test func expiresInDeadlineOrderAndSkipsCancelled() {
        var queue = TimerQueue()
        let late = queue.schedule(deadlineNanos: 300, token: .test(3))
        _ = queue.schedule(deadlineNanos: 100, token: .test(1))
        let cancelled = queue.schedule(deadlineNanos: 200, token: .test(2))
        queue.cancel(cancelled)
        #expect(queue.count == 2)
        #expect(queue.timeoutNanos(nowNanos: 0) == 100)
        #expect(queue.popExpired(nowNanos: 50) == nil)
        #expect(queue.popExpired(nowNanos: 1_000)?.token.purpose == 1)
        #expect(queue.popExpired(nowNanos: 1_000)?.id == late)
        #expect(queue.popExpired(nowNanos: 1_000) == nil)
        #expect(queue.timeoutNanos(nowNanos: 1_000) == nil)
    }

    @Test func aTokenComesBackWhole() {
        var queue = TimerQueue()
        let token = TimerToken(owner: .supervisor, purpose: 2, slot: 70_000, generation: 9)
        _ = queue.schedule(deadlineNanos: 5, token: token)
        #expect(queue.popExpired(nowNanos: 5)?.token == token)
    }

    @Test func cancellingAFiredTimerLeavesNothingBehind() {
        var queue = TimerQueue()
        let fired = queue.schedule(deadlineNanos: 5, token: .test(1))
        #expect(queue.popExpired(nowNanos: 5)?.id == fired)
        queue.cancel(fired)
        _ = queue.schedule(deadlineNanos: 6, token: .test(2))  // reuses the fired timer's slot
        queue.cancel(fired)  // a stale id: its generation is gone
        #expect(queue.count == 1)
        #expect(queue.popExpired(nowNanos: 6)?.token == .test(2))
    }

    @Test func equalDeadlinesFireInScheduleOrder() {
        var queue = TimerQueue()
        for tag in 0..<50 { _ = queue.schedule(deadlineNanos: 10, token: .test(tag)) }
        var fired: [UInt64] = []
        while let expiry = queue.popExpired(nowNanos: 10) { fired.append(UInt64(expiry.token.purpose)) }
        #expect(fired == Array(0..<50))
    }
}

extension TimerToken {
    /// A test's timer, told apart by its purpose code.
    static func test(_ purpose: Int) -> TimerToken { TimerToken(owner: .server, purpose: UInt8(purpose)) }
}

/// Records what the reactor delivered.
final class RecordingHandler: ReactorHandler {
    var timers: [UInt64] = []
    var signals: [Int32] = []
    var events: [ReadyEvent] = []
    var sleeps = 0

    func handle(_ event: ReadyEvent, reactor: Reactor) { events.append(event) }
    func timerFired(_ token: TimerToken, reactor: Reactor) { timers.append(UInt64(token.purpose)) }
    func signalReceived(_ signal: Int32, reactor: Reactor) { signals.append(signal) }
    func beforeSleep(reactor: Reactor) -> Bool { sleeps += 1; return false }
}

/// A reactor on exactly the named backend: no fallback, so an io_uring test
/// that cannot set up io_uring fails rather than quietly testing epoll.
func makeReactor(_ choice: IOBackendChoice) throws -> Reactor {
    switch choice {
    case .epoll: return Reactor(backend: .epoll(try EpollPoller()))
    case .ioUring: return Reactor(backend: .ioUring(try UringPoller()))
    }
}

@Suite(.serialized) struct ReactorLoopTests {
    @Test(arguments: IOBackendChoice.allCases)
    func timersFireInOrder(_ choice: IOBackendChoice) throws {
        let reactor = try makeReactor(choice)
        defer { reactor.close() }
        let handler = RecordingHandler()
        reactor.schedule(afterNanos: 30_000_000, .test(2))
        reactor.schedule(afterNanos: 10_000_000, .test(1))
        let cancelled = reactor.schedule(afterNanos: 20_000_000, .test(99))
        reactor.cancel(cancelled)
        let start = SystemClock().monotonicNanos()
        for _ in 0..<20 where handler.timers.count < 2 {
            try reactor.runOnce(handler, maxWaitMs: 200)
        }
        let elapsedMs = (SystemClock().monotonicNanos() - start) / 1_000_000
        #expect(handler.timers == [1, 2])
        #expect(elapsedMs >= 30, "the second timer must not fire early")
        #expect(elapsedMs < 1_000)
    }

    @Test(arguments: IOBackendChoice.allCases)
    func signalArrivesThroughTheSignalfd(_ choice: IOBackendChoice) throws {
        let reactor = try makeReactor(choice)
        defer { reactor.close() }
        try reactor.watchSignals([SIGUSR2])
        let handler = RecordingHandler()
        // Aimed at this thread, which blocked it: the test runner has other
        // threads that would take a process-wide signal and die of it.
        pthread_kill(pthread_self(), SIGUSR2)
        for _ in 0..<10 where handler.signals.isEmpty {
            try reactor.runOnce(handler, maxWaitMs: 100)
        }
        #expect(handler.signals == [SIGUSR2])
    }

    @Test(arguments: IOBackendChoice.allCases)
    func readinessOfAPipeIsReportedWithItsToken(_ choice: IOBackendChoice) throws {
        let reactor = try makeReactor(choice)
        defer { reactor.close() }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let token = EventToken(kind: .feed, slot: 7, generation: 3)
        try reactor.register(fd: fds[0], token: token, interest: .read)
        let handler = RecordingHandler()
        try reactor.runOnce(handler, maxWaitMs: 0)
        #expect(handler.events.isEmpty)
        _ = write(fds[1], "x", 1)
        try reactor.runOnce(handler, maxWaitMs: 100)
        #expect(handler.events.count == 1)
        #expect(handler.events.first?.token == token)
        #expect(handler.events.first?.readiness.contains(.readable) == true)
    }
}

@Suite struct ShutdownPhaseTests {
    let budget = ShutdownPhase.Budget(drainNanos: 5_000, stopFlushNanos: 500)

    @Test func signalDrainsThenTheDeadlineStopsThenTheFlushFinishes() {
        var phase = ShutdownPhase.running
        #expect(phase.signalReceived(nowNanos: 10, budget: budget) == .beginDraining(deadlineNanos: 5_010))
        #expect(!phase.acceptsNewWork && phase.isDraining)
        #expect(phase.drainEnded(nowNanos: 5_010, budget: budget) == .beginStopping(deadlineNanos: 5_510))
        #expect(phase.isStopping)
        #expect(phase.drainEnded(nowNanos: 5_011, budget: budget) == .none, "a late drain timer changes nothing")
        #expect(phase.flushEnded() == .finish)
        #expect(phase == .stopped)
        #expect(phase.signalReceived(nowNanos: 6_000, budget: budget) == .none)
    }

    @Test func secondSignalSkipsTheDrainAndAThirdEndsAtOnce() {
        var phase = ShutdownPhase.running
        _ = phase.signalReceived(nowNanos: 0, budget: budget)
        #expect(phase.signalReceived(nowNanos: 100, budget: budget) == .beginStopping(deadlineNanos: 600))
        #expect(phase.signalReceived(nowNanos: 200, budget: budget) == .finish)
        #expect(phase == .stopped)
    }

    @Test func flushEndOutsideStoppingIsIgnored() {
        var phase = ShutdownPhase.running
        #expect(phase.flushEnded() == .none)
        #expect(phase == .running)
    }
}

@Suite struct ListenAddressTests {
    @Test func parsesHostsAndPorts() throws {
        #expect(try ListenAddress(parsing: "0.0.0.0:50051") == ListenAddress(host: "0.0.0.0", port: 50051))
        #expect(try ListenAddress(parsing: "[::1]:8080") == ListenAddress(host: "::1", port: 8080))
        #expect(try ListenAddress(parsing: "localhost:0").port == 0)
    }

    @Test func rejectsBadInputWithAClearReason() {
        #expect(throws: ListenAddress.ParseError.missingPort("50051")) { try ListenAddress(parsing: "50051") }
        #expect(throws: ListenAddress.ParseError.badPort("host:99999")) { try ListenAddress(parsing: "host:99999") }
        #expect(throws: ListenAddress.ParseError.emptyHost(":1")) { try ListenAddress(parsing: ":1") }
    }

    @Test func listenerBindsAnEphemeralPort() throws {
        let listener = try TCPListener(address: ListenAddress(host: "127.0.0.1", port: 0))
        defer { listener.close() }
        #expect(listener.boundAddress.port != 0)
        #expect(try listener.accept() == nil, "an empty backlog must not block")
    }
}
