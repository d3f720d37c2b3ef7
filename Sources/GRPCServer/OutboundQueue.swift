/// A stream's messages waiting to go out, oldest first. A ring of shared
/// references: queuing a trade on a stream copies a pointer, not the bytes.
/// The bytes are copied once, into nghttp2's DATA frame, when they go out.
struct OutboundQueue {
    private var ring: ContiguousArray<WireMessage?>
    private var head = 0
    private var count = 0
    /// Bytes of the head message already handed to nghttp2.
    private var headOffset = 0
    /// Bytes queued and not yet handed out, across all messages.
    private(set) var pendingBytes = 0

    init(initialCapacity: Int = 16) {
        precondition(initialCapacity > 0 && initialCapacity & (initialCapacity - 1) == 0, "capacity must be a power of two")
        ring = ContiguousArray(repeating: nil, count: initialCapacity)
    }

    var isEmpty: Bool { count == 0 }
    var messageCount: Int { count }

    mutating func append(_ message: WireMessage) {
        if count == ring.count { grow() }
        ring[(head + count) & (ring.count - 1)] = message
        count += 1
        pendingBytes += message.count
    }

    /// Copies as many queued bytes as fit into `destination`, splitting a
    /// message across calls when it must; returns the bytes copied.
    mutating func drain(into destination: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while count > 0 && written < destination.count {
            let message = ring[head]!
            let copied = message.withBytes { bytes -> Int in
                let take = min(bytes.count - headOffset, destination.count - written)
                destination.baseAddress!.advanced(by: written)
                    .copyMemory(from: bytes.baseAddress!.advanced(by: headOffset), byteCount: take)
                return take
            }
            written += copied
            headOffset += copied
            if headOffset == message.count {
                ring[head] = nil
                head = (head + 1) & (ring.count - 1)
                count -= 1
                headOffset = 0
            }
        }
        pendingBytes -= written
        return written
    }

    mutating func removeAll() {
        while count > 0 {
            ring[head] = nil
            head = (head + 1) & (ring.count - 1)
            count -= 1
        }
        headOffset = 0
        pendingBytes = 0
    }

    private mutating func grow() {
        var bigger = ContiguousArray<WireMessage?>(repeating: nil, count: ring.count * 2)
        for index in 0..<count {
            bigger[index] = ring[(head + index) & (ring.count - 1)]
        }
        ring = bigger
        head = 0
    }
}
