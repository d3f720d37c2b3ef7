import Glibc
import Testing
@testable import Reactor

/// A poller of exactly the named backend (no fallback).
func makePoller(_ choice: IOBackendChoice, uringEntries: UInt32 = 4096) throws -> any Poller {
    switch choice {
    case .epoll: return try EpollPoller()
    case .ioUring: return try UringPoller(entries: uringEntries)
    }
}

/// A pipe whose ends are closed when the test is done with them.
struct TestPipe {
    let read: Int32
    let write: Int32

    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        read = fds[0]
        write = fds[1]
    }

    func put(_ bytes: Int) {
        let data = [UInt8](repeating: 0x78, count: bytes)
        precondition(Glibc.write(write, data, bytes) == bytes)
    }

    func take(_ bytes: Int) -> Int {
        var data = [UInt8](repeating: 0, count: bytes)
        return Glibc.read(read, &data, bytes)
    }

    func close() { Glibc.close(read); Glibc.close(write) }
}

/// What the reactor's upper layers rely on, checked on every backend alike.
@Suite(.serialized) struct PollerSemanticsTests {
    private func events(_ poller: any Poller, waitMs: Int32) throws -> [ReadyEvent] {
        var events: [ReadyEvent] = []
        try poller.poll(timeoutNanos: Int64(waitMs) * 1_000_000) { events.append($0) }
        return events
    }

    @Test(arguments: IOBackendChoice.allCases)
    func unreadBytesWakeTheLoopAgain(_ choice: IOBackendChoice) throws {
        let poller = try makePoller(choice)
        defer { poller.close() }
        let pipe = TestPipe()
        defer { pipe.close() }
        let token = EventToken(kind: .connection, slot: 1, generation: 1)
        try poller.register(fd: pipe.read, token: token, interest: .read)
        pipe.put(2)
        #expect(try events(poller, waitMs: 1_000).map(\.token) == [token])
        #expect(pipe.take(1) == 1, "a handler that reads only part of the input…")
        #expect(try events(poller, waitMs: 1_000).map(\.token) == [token], "…is woken again: level triggering")
        #expect(pipe.take(1) == 1)
        #expect(try events(poller, waitMs: 20).isEmpty, "nothing left to read, no wakeup")
        try poller.unregister(fd: pipe.read)
    }

    @Test(arguments: IOBackendChoice.allCases)
    func modifyChangesInterestAndToken(_ choice: IOBackendChoice) throws {
        let poller = try makePoller(choice)
        defer { poller.close() }
        let pipe = TestPipe()
        defer { pipe.close() }
        try poller.register(fd: pipe.write, token: EventToken(kind: .feed, generation: 1), interest: .read)
        #expect(try events(poller, waitMs: 20).isEmpty, "an empty pipe's write end never becomes readable")
        let writing = EventToken(kind: .feed, generation: 2)
        try poller.modify(fd: pipe.write, token: writing, interest: [.read, .write])
        let woke = try events(poller, waitMs: 1_000)
        #expect(woke.map(\.token) == [writing])
        #expect(woke.first?.readiness.contains(.writable) == true)
        // Modified again while its last event is still being handled.
        try poller.modify(fd: pipe.write, token: writing, interest: .read)
        #expect(try events(poller, waitMs: 20).isEmpty)
        try poller.unregister(fd: pipe.write)
    }

    @Test(arguments: IOBackendChoice.allCases)
    func aReusedDescriptorNumberGetsNoStaleEvent(_ choice: IOBackendChoice) throws {
        let poller = try makePoller(choice)
        defer { poller.close() }
        let old = TestPipe()
        let oldToken = EventToken(kind: .connection, slot: 3, generation: 1)
        try poller.register(fd: old.read, token: oldToken, interest: .read)
        old.put(1)
        try poller.unregister(fd: old.read)
        old.close()
        let new = TestPipe()  // the lowest free numbers: most likely the same two
        defer { new.close() }
        let newToken = EventToken(kind: .connection, slot: 3, generation: 2)
        try poller.register(fd: new.read, token: newToken, interest: .read)
        #expect(try events(poller, waitMs: 20).isEmpty, "the old pipe's data must not surface")
        new.put(1)
        #expect(try events(poller, waitMs: 1_000).map(\.token) == [newToken])
        try poller.unregister(fd: new.read)
    }

    @Test(arguments: IOBackendChoice.allCases)
    func moreRegistrationsThanTheSubmissionQueueHolds(_ choice: IOBackendChoice) throws {
        let poller = try makePoller(choice, uringEntries: 8)
        defer { poller.close() }
        let pipes = (0..<40).map { _ in TestPipe() }
        defer { pipes.forEach { $0.close() } }
        for (index, pipe) in pipes.enumerated() {
            try poller.register(fd: pipe.read, token: EventToken(kind: .connection, slot: UInt32(index)), interest: .read)
            pipe.put(1)
        }
        var slots = Set<UInt32>()
        for _ in 0..<20 where slots.count < pipes.count {
            for event in try events(poller, waitMs: 100) {
                slots.insert(event.token.slot)
                _ = pipes[Int(event.token.slot)].take(1)
            }
        }
        #expect(slots.count == pipes.count)
        for pipe in pipes { try poller.unregister(fd: pipe.read) }
    }

    @Test(arguments: IOBackendChoice.allCases)
    func registrationMistakesAreReportedAsEpollReportsThem(_ choice: IOBackendChoice) throws {
        let poller = try makePoller(choice)
        defer { poller.close() }
        let pipe = TestPipe()
        defer { pipe.close() }
        let token = EventToken(kind: .feed)
        try poller.register(fd: pipe.read, token: token, interest: .read)
        #expect(throws: SystemError.self) { try poller.register(fd: pipe.read, token: token, interest: .read) }
        try poller.unregister(fd: pipe.read)
        do {
            try poller.unregister(fd: pipe.read)
            Issue.record("a second unregister must fail")
        } catch {
            #expect(error.errno == ENOENT)
        }
        do {
            try poller.modify(fd: pipe.read, token: token, interest: .write)
            Issue.record("modifying an unregistered descriptor must fail")
        } catch {
            #expect(error.errno == ENOENT)
        }
    }

    @Test func uringFallsBackToEpollOnlyWhenAsked() throws {
        let opened = try PollerBackend.open(.epoll)
        defer { opened.backend.poller.close() }
        #expect(opened.backend.poller.backendName == "epoll")
        #expect(opened.fallbackReason == nil)
    }
}
