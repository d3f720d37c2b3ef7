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
