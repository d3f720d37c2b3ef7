/// One gRPC message exactly as it goes on the wire: the 5-byte prefix
/// (compressed flag, big-endian length) followed by the protobuf bytes, in
/// one buffer. A trade is encoded into one of these once and the same
/// instance is queued on every stream; a `WireMessageRecycler` then reuses it
/// for a later trade once no stream holds it, so steady-state fan-out
/// allocates nothing.
public final class WireMessage {
    public static let prefixLength = 5

    private var bytes: UnsafeMutableRawPointer
    /// Bytes the buffer can hold (prefix included).
    public private(set) var capacity: Int
    /// Prefix plus payload.
    public private(set) var count: Int

    /// Allocates room for prefix + max(`payloadCount`, `minimumPayloadCapacity`)
    /// bytes, writes the prefix, and lets `fill` write exactly `payloadCount`
    /// bytes of payload.
    public init(payloadCount: Int, minimumPayloadCapacity: Int = 0,
                fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(payloadCount >= 0 && payloadCount <= Int(UInt32.max))
        capacity = Self.prefixLength + max(payloadCount, minimumPayloadCapacity)
        bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        count = 0
        write(payloadCount: payloadCount, fill: fill)
    }

    /// Wraps already-serialized protobuf bytes.
    public convenience init(payload: [UInt8]) {
        self.init(payloadCount: payload.count) { buffer in
            payload.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }

    deinit {
        bytes.deallocate()
    }

    /// How many stream queues hold this message (OutboundQueue). Together
    /// they own one strong reference, taken by the first and given back by
    /// the last: a trade queued on a hundred streams then costs one atomic
    /// retain and one release instead of a hundred of each. At burst those
    /// were two fifths of the server's CPU (perf: swift_retain under
    /// GRPCStream.send, swift_release under OutboundQueue.drain). A plain
    /// count, not atomic: messages live on the loop's one thread.
    private var queueHolds = 0

    /// A queue takes this message: returns the reference the queue keeps,
    /// which `releasedByQueue` must give back exactly once.
    @inline(__always)
    public func heldByQueue() -> Unmanaged<WireMessage> {
        let reference = Unmanaged.passUnretained(self)
        if queueHolds == 0 { _ = reference.retain() }
        queueHolds += 1
        return reference
    }

    /// A queue drops a reference `heldByQueue` gave it.
    @inline(__always)
    public static func releasedByQueue(_ reference: Unmanaged<WireMessage>) {
        let last = reference._withUnsafeGuaranteedRef { message -> Bool in
            message.queueHolds -= 1
            return message.queueHolds == 0
        }
        if last { reference.release() }
    }

    /// Overwrites this message with a new one of `payloadCount` bytes. Only
    /// for a message nobody else references (the recycler checks), and only
    /// when it fits.
    func rewrite(payloadCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(Self.prefixLength + payloadCount <= capacity, "rewrite beyond capacity")
        write(payloadCount: payloadCount, fill: fill)
    }

    private func write(payloadCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let length = UInt32(payloadCount)
        let prefix = bytes.assumingMemoryBound(to: UInt8.self)
        prefix[0] = 0
        prefix[1] = UInt8(truncatingIfNeeded: length >> 24)
        prefix[2] = UInt8(truncatingIfNeeded: length >> 16)
        prefix[3] = UInt8(truncatingIfNeeded: length >> 8)
        prefix[4] = UInt8(truncatingIfNeeded: length)
        count = Self.prefixLength + payloadCount
        fill(UnsafeMutableRawBufferPointer(start: bytes + Self.prefixLength, count: payloadCount))
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    public var payload: [UInt8] {
        withBytes { Array($0[Self.prefixLength...]) }
    }
}
