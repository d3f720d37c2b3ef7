import Glibc
import Testing
@testable import Reactor

/// A connected pair of non-blocking stream sockets, closed when released.
private final class SocketPair {
    let sender: Int32
    let receiver: Int32
    private var open: Set<Int32>

    init(sendBufferBytes: Int32? = nil) {
        var fds: [Int32] = [-1, -1]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        sender = fds[0]
        receiver = fds[1]
        open = [sender, receiver]
        if var size = sendBufferBytes {
            precondition(setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0)
        }
    }

    func closeReceiver() {
        Glibc.close(receiver)
        open.remove(receiver)
    }

    /// Everything readable now, at most `limit` bytes.
    func readAll(limit: Int = 1 << 22) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(receiver, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    deinit { for fd in open { Glibc.close(fd) } }
}

@Suite(.serialized) struct UringSendBatchTests {
    @Test func oneSubmissionDeliversEverySocketsBytesWithTheirTags() throws {
        let batch = try UringSendBatch(entries: 8)
        defer { batch.close() }
        let pairs = (0..<5).map { _ in SocketPair() }
        let payloads: [[UInt8]] = (0..<5).map { index in (0..<(100 + index * 37)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) } }
        var results: [UInt64: UringSendBatch.Result] = [:]
        try withExtendedLifetime(payloads) {
            for (index, pair) in pairs.enumerated() {
                let queued = payloads[index].withUnsafeBytes { batch.queue(fd: pair.sender, bytes: $0, tag: UInt64(100 + index)) }
                #expect(queued)
            }
            try batch.submit { tag, result in results[tag] = result }
        }
        #expect(batch.isEmpty)
        for (index, pair) in pairs.enumerated() {
            #expect(results[UInt64(100 + index)] == .sent(payloads[index].count))
            #expect(pair.readAll() == payloads[index])
        }
        #expect(results.count == 5)
    }

    @Test func aFullBatchRefusesMoreUntilSubmitted() throws {
        let batch = try UringSendBatch(entries: 2)
        defer { batch.close() }
        let pair = SocketPair()
        let byte: [UInt8] = [42]
        var reported = 0
        try byte.withUnsafeBytes { bytes in
            #expect(batch.queue(fd: pair.sender, bytes: bytes, tag: 0))
            #expect(batch.queue(fd: pair.sender, bytes: bytes, tag: 1))
            #expect(!batch.queue(fd: pair.sender, bytes: bytes, tag: 2), "a third send does not fit a batch of 2")
            try batch.submit { _, _ in reported += 1 }
            #expect(batch.queue(fd: pair.sender, bytes: bytes, tag: 3))
            try batch.submit { _, _ in reported += 1 }
        }
        #expect(reported == 3)
        #expect(pair.readAll() == [42, 42, 42])
    }

    /// The point of MSG_DONTWAIT: a full socket answers at once, and the
    /// submission never waits for the reader.
    @Test func aFullSocketTakesWhatFitsThenReportsWouldBlock() throws {
        let batch = try UringSendBatch(entries: 4)
        defer { batch.close() }
        let pair = SocketPair(sendBufferBytes: 4096)
        let big = [UInt8](repeating: 0xA5, count: 1 << 20)
        var first: UringSendBatch.Result?
        var second: UringSendBatch.Result?
        try big.withUnsafeBytes { bytes in
            #expect(batch.queue(fd: pair.sender, bytes: bytes, tag: 1))
            try batch.submit { _, result in first = result }
            #expect(batch.queue(fd: pair.sender, bytes: bytes, tag: 2))
            try batch.submit { _, result in second = result }
        }
        guard case .sent(let taken) = first else {
            Issue.record("the first send should have written part of the megabyte, got \(String(describing: first))")
            return
        }
        #expect(taken > 0 && taken < big.count, "a short write, not all or nothing")
        #expect(second == .wouldBlock)
        #expect(pair.readAll().count == taken)
    }

    @Test func aSendToAClosedPeerFailsWithEPIPEAndRaisesNoSignal() throws {
        let batch = try UringSendBatch(entries: 4)
        defer { batch.close() }
        let pair = SocketPair()
        pair.closeReceiver()
        let bytes: [UInt8] = [1, 2, 3]
        var result: UringSendBatch.Result?
        try bytes.withUnsafeBytes { buffer in
            #expect(batch.queue(fd: pair.sender, bytes: buffer, tag: 9))
            try batch.submit { _, outcome in result = outcome }
        }
        #expect(result == .failed(SystemError(call: "send (io_uring)", errno: EPIPE)))
    }

    @Test func aBadDescriptorFailsOnlyItsOwnSend() throws {
        let batch = try UringSendBatch(entries: 4)
        defer { batch.close() }
        let pair = SocketPair()
        let bytes: [UInt8] = [7, 7]
        var results: [UInt64: UringSendBatch.Result] = [:]
        try bytes.withUnsafeBytes { buffer in
            #expect(batch.queue(fd: 1_000_000, bytes: buffer, tag: 1))
            #expect(batch.queue(fd: pair.sender, bytes: buffer, tag: 2))
            try batch.submit { tag, outcome in results[tag] = outcome }
        }
        #expect(results[1] == .failed(SystemError(call: "send (io_uring)", errno: EBADF)))
        #expect(results[2] == .sent(2))
        #expect(pair.readAll() == [7, 7])
    }
}
