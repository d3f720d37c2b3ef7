import WebSocket

/// One direction of an in-memory byte stream between the client session and
/// the test's wslay server. Keeps a history so tests can inspect raw frames.
final class ByteChannel {
    private(set) var buffered: [UInt8] = []
    private var readOffset = 0
    /// Every byte ever written, for looking at frames on the wire.
    private(set) var history: [UInt8] = []
    /// Once the buffered bytes are gone, readers see end of stream.
    var isEndOfStream = false

    var pendingCount: Int { buffered.count - readOffset }

    func write(_ bytes: UnsafeRawBufferPointer) {
        buffered.append(contentsOf: bytes)
        history.append(contentsOf: bytes)
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Copies up to `limit` bytes into `buffer`; 0 when nothing is buffered.
    func read(into buffer: UnsafeMutableRawBufferPointer, limit: Int) -> Int {
        let count = min(buffer.count, limit, pendingCount)
        guard count > 0 else { return 0 }
        buffered.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + readOffset, byteCount: count)
        }
        readOffset += count
        return count
    }

    /// Removes and returns everything buffered (to hand it over as handshake leftover).
    func takeAll() -> [UInt8] {
        let taken = Array(buffered[readOffset...])
        buffered = []
        readOffset = 0
        return taken
    }
}

/// The client's side of an in-memory connection, with knobs that make it act
/// like a non-blocking socket that is slow, short or broken.
final class MemoryTransport: WebSocketTransport {
    let incoming: ByteChannel
    let outgoing: ByteChannel
    /// Largest count a single read or write reports (short reads and writes).
    var readChunkLimit = Int.max
    var writeChunkLimit = Int.max
    /// Bytes that may still move before the call says `.wouldBlock`; nil is unlimited.
    var readBudget: Int?
    var writeBudget: Int?
    var readFailure: String?
    var writeFailure: String?
    var writeClosed = false
    private(set) var readCalls = 0

    init(incoming: ByteChannel, outgoing: ByteChannel) {
        self.incoming = incoming
        self.outgoing = outgoing
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportIO {
        readCalls += 1
        if let readFailure { return .failed(readFailure) }
        let count = incoming.read(into: buffer, limit: min(readChunkLimit, readBudget ?? .max))
        if count > 0 {
            readBudget = readBudget.map { $0 - count }
            return .transferred(count)
        }
        return incoming.pendingCount == 0 && incoming.isEndOfStream ? .closed : .wouldBlock
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> TransportIO {
        if let writeFailure { return .failed(writeFailure) }
        if writeClosed { return .closed }
        let count = min(bytes.count, writeChunkLimit, writeBudget ?? .max)
        guard count > 0 else { return .wouldBlock }
        outgoing.write(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
        writeBudget = writeBudget.map { $0 - count }
        return .transferred(count)
    }
}
