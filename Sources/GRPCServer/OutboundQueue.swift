import GRPCWire

/// A stream's messages waiting to go out, oldest first. A ring of shared
/// references: queuing a trade on a stream copies a pointer, not the bytes.
/// The bytes are copied once, into the connection's output, when they go out
/// (GRPCStream.writeDataFrame).
///
/// Positions are 32-bit: the queue lives inline in every stream, and 16
/// bytes less there took a stream object down a malloc size class (issue 22,
/// memory per connection). A ring never nears 2^31 slots: the stream is cut
/// long before (--stream-soft-limit).
///
/// The ring holds references from `WireMessage.heldByQueue`: all the queues
/// holding one message share one strong reference, so queuing a trade on a
/// stream costs no atomic reference count. The ring is raw memory rather
/// than an Array so that growing it moves the references (a memcpy).
struct OutboundQueue: ~Copyable {
    private var ring: UnsafeMutablePointer<Unmanaged<WireMessage>>
    private var storedCapacity: Int32
    private var storedHead: Int32 = 0
    private var storedCount: Int32 = 0
    /// Bytes of the head message already handed to nghttp2.
    private var storedHeadOffset: Int32 = 0
    /// Bytes queued and not yet handed out, across all messages.
    private(set) var pendingBytes = 0

    private var capacity: Int {
        get { Int(storedCapacity) }
        set { storedCapacity = Int32(newValue) }
    }
    private var head: Int {
        get { Int(storedHead) }
        set { storedHead = Int32(truncatingIfNeeded: newValue) }
    }
    private var count: Int {
        get { Int(storedCount) }
        set { storedCount = Int32(truncatingIfNeeded: newValue) }
    }
    private var headOffset: Int {
        get { Int(storedHeadOffset) }
        set { storedHeadOffset = Int32(truncatingIfNeeded: newValue) }
    }

    init(initialCapacity: Int = 16) {
        precondition(initialCapacity > 0 && initialCapacity & (initialCapacity - 1) == 0, "capacity must be a power of two")
        storedCapacity = Int32(initialCapacity)
        ring = UnsafeMutablePointer<Unmanaged<WireMessage>>.allocate(capacity: initialCapacity)
    }

    deinit {
        for index in 0..<count { WireMessage.releasedByQueue(ring[(head + index) & (capacity - 1)]) }
        ring.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    /// Slots the ring holds now: its memory, which no byte count shows.
    var slotCapacity: Int { capacity }

    mutating func append(_ message: WireMessage) {
        if count == capacity { grow() }
        (ring + ((head + count) & (capacity - 1))).initialize(to: message.heldByQueue())
        count += 1
        pendingBytes += message.count
    }

    /// Copies as many queued bytes as fit into `destination`, splitting a
    /// message across calls when it must; returns the bytes copied.
    mutating func drain(into destination: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while count > 0 && written < destination.count {
            // The ring holds the message for the whole copy.
            let message = ring[head]
            let copied = message._withUnsafeGuaranteedRef { $0.withBytes { bytes -> Int in
                let take = min(bytes.count - headOffset, destination.count - written)
                destination.baseAddress!.advanced(by: written)
                    .copyMemory(from: bytes.baseAddress!.advanced(by: headOffset), byteCount: take)
                return take
            } }
            written += copied
            headOffset += copied
            if headOffset == message._withUnsafeGuaranteedRef({ $0.count }) { dropHead() }
        }
        pendingBytes -= written
        if count == 0 { shrinkIfOversized() }
        return written
    }

    /// Drops every message not yet started, keeping a head message that is
    /// partly on the wire: cutting it would corrupt the gRPC framing before
    /// the trailers that follow.
    mutating func dropUnsent() {
        guard count > 0 else { return }
        let keepHead = headOffset > 0
        let kept = keepHead ? ring[head]._withUnsafeGuaranteedRef { $0.count } - headOffset : 0
        while count > (keepHead ? 1 : 0) {
            let last = (head + count - 1) & (capacity - 1)
            WireMessage.releasedByQueue(ring[last])
            count -= 1
        }
        pendingBytes = kept
        shrinkIfOversized()
    }

    mutating func removeAll() {
        while count > 0 { dropHead() }
        pendingBytes = 0
        shrinkIfOversized()
    }

    private mutating func dropHead() {
        WireMessage.releasedByQueue(ring[head])
        head = (head + 1) & (capacity - 1)
        count -= 1
        headOffset = 0
    }

    private mutating func grow() {
        resize(to: capacity * 2)
    }

    /// A ring that grew past this many slots (8 KiB) goes back to the
    /// smallest size once it holds no more than that: a stream that once fell
    /// far behind must not keep a ring of a hundred thousand slots, which no
    /// byte count sees, for the rest of its life.
    private static let keptCapacity = 1024
    private static let shrunkCapacity = 16

    private mutating func shrinkIfOversized() {
        guard capacity > Self.keptCapacity, count <= Self.shrunkCapacity else { return }
        resize(to: Self.shrunkCapacity)
    }

    private mutating func resize(to newCapacity: Int) {
        precondition(newCapacity >= count && newCapacity & (newCapacity - 1) == 0, "ring resized below its count")
        let resized = UnsafeMutablePointer<Unmanaged<WireMessage>>.allocate(capacity: newCapacity)
        // Safe because the live elements are the `count` slots from `head`,
        // wrapping once; they are moved, and the old ring is then raw memory.
        let firstRun = min(count, capacity - head)
        resized.moveInitialize(from: ring + head, count: firstRun)
        (resized + firstRun).moveInitialize(from: ring, count: count - firstRun)
        ring.deallocate()
        ring = resized
        capacity = newCapacity
        head = 0
    }
}
