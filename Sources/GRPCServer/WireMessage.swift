/// One gRPC message exactly as it goes on the wire: the 5-byte prefix
/// (compressed flag, big-endian length) followed by the protobuf bytes, in a
/// single tail-allocated buffer. A trade is encoded into one of these once and
/// the same instance is queued on every stream: one allocation per trade.
public final class WireMessage {
    public static let prefixLength = 5

    /// Header of the tail allocation.
    public struct Header {
        public let count: Int
    }

    private let storage: ManagedBuffer<Header, UInt8>

    /// Allocates prefix + `payloadCount` bytes, writes the prefix, and lets
    /// `fill` write exactly `payloadCount` bytes of payload.
    public init(payloadCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(payloadCount >= 0 && payloadCount <= Int(UInt32.max))
        let total = Self.prefixLength + payloadCount
        storage = ManagedBuffer<Header, UInt8>.create(minimumCapacity: total) { _ in Header(count: total) }
        storage.withUnsafeMutablePointerToElements { base in
            base[0] = 0
            let length = UInt32(payloadCount)
            base[1] = UInt8(truncatingIfNeeded: length >> 24)
            base[2] = UInt8(truncatingIfNeeded: length >> 16)
            base[3] = UInt8(truncatingIfNeeded: length >> 8)
            base[4] = UInt8(truncatingIfNeeded: length)
            fill(UnsafeMutableRawBufferPointer(start: base + Self.prefixLength, count: payloadCount))
        }
    }

    /// Wraps already-serialized protobuf bytes.
    public convenience init(payload: [UInt8]) {
        self.init(payloadCount: payload.count) { buffer in
            payload.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }

    /// Prefix plus payload.
    public var count: Int { storage.header.count }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeMutablePointerToElements { base in
            try body(UnsafeRawBufferPointer(start: base, count: storage.header.count))
        }
    }

    public var payload: [UInt8] {
        withBytes { Array($0[Self.prefixLength...]) }
    }
}
