/// Just enough of the protobuf wire format to encode a PriceUpdate, and the
/// indicator and candle batches, straight into their WireMessage with no
/// intermediate buffers. Field order and the
/// omission of zero values match SwiftProtobuf, so the bytes are identical
/// (a unit test holds us to that). Inlinable: the engine encodes every trade
/// with it from another module, and a call per varint costs more than the
/// varint (callgrind: ~50 instructions per delivered message).
public struct ProtobufWriter {
    @usableFromInline let base: UnsafeMutableRawPointer
    /// Bytes written so far (callers read it; only the writer moves it).
    public var offset = 0

    @inlinable
    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        base = buffer.baseAddress!
    }

    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        // Each byte carries 7 bits; zero still takes one byte.
        let bits = 64 - value.leadingZeroBitCount
        return max(1, (bits + 6) / 7)
    }

    /// Bytes of a length-delimited field's key + length prefix + payload.
    @inlinable
    public static func delimitedSize(fieldNumber: Int, payload: Int) -> Int {
        varintSize(UInt64(fieldNumber << 3 | 2)) + varintSize(UInt64(payload)) + payload
    }

    @inlinable
    public static func int64FieldSize(fieldNumber: Int, _ value: Int64) -> Int {
        value == 0 ? 0 : varintSize(UInt64(fieldNumber << 3)) + varintSize(UInt64(bitPattern: value))
    }

    @inlinable
    public static func doubleFieldSize(fieldNumber: Int, _ value: Double) -> Int {
        value.bitPattern == 0 ? 0 : varintSize(UInt64(fieldNumber << 3 | 1)) + 8
    }

    /// uint32, enum and bool fields: a varint, omitted when zero.
    @inlinable
    public static func varintFieldSize(fieldNumber: Int, _ value: UInt64) -> Int {
        value == 0 ? 0 : varintSize(UInt64(fieldNumber << 3)) + varintSize(value)
    }

    @inlinable
    public static func stringFieldSize(fieldNumber: Int, _ value: String) -> Int {
        let count = value.utf8.count
        return count == 0 ? 0 : delimitedSize(fieldNumber: fieldNumber, payload: count)
    }

    /// An enum's wire value: negative ones take ten bytes, as int32 does.
    @inlinable
    public static func enumWireValue(_ rawValue: Int) -> UInt64 {
        UInt64(bitPattern: Int64(rawValue))
    }

    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: remaining) | 0x80, toByteOffset: offset, as: UInt8.self)
            offset += 1
            remaining >>= 7
        }
        base.storeBytes(of: UInt8(remaining), toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    @inlinable
    public mutating func writeDelimitedHeader(fieldNumber: Int, length: Int) {
        writeVarint(UInt64(fieldNumber << 3 | 2))
        writeVarint(UInt64(length))
    }

    @inlinable
    public mutating func writeBytes(fieldNumber: Int, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        writeDelimitedHeader(fieldNumber: fieldNumber, length: bytes.count)
        (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        offset += bytes.count
    }

    @inlinable
    public mutating func writeInt64(fieldNumber: Int, _ value: Int64) {
        guard value != 0 else { return }
        writeVarint(UInt64(fieldNumber << 3))
        writeVarint(UInt64(bitPattern: value))
    }

    @inlinable
    public mutating func writeVarintField(fieldNumber: Int, _ value: UInt64) {
        guard value != 0 else { return }
        writeVarint(UInt64(fieldNumber << 3))
        writeVarint(value)
    }

    @inlinable
    public mutating func writeString(fieldNumber: Int, _ value: String) {
        var utf8 = value
        // Native and small strings hand out their UTF-8 in place, without copying.
        utf8.withUTF8 { writeBytes(fieldNumber: fieldNumber, UnsafeRawBufferPointer($0)) }
    }

    /// A double's 8 little-endian bytes with no key: packed repeated
    /// elements, and `optional` fields, which are written even when zero.
    @inlinable
    public mutating func writeRawDouble(_ value: Double) {
        base.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }

    /// Proto3 omits a double only when it is +0.0; -0.0 is written.
    @inlinable
    public mutating func writeDouble(fieldNumber: Int, _ value: Double) {
        guard value.bitPattern != 0 else { return }
        writeVarint(UInt64(fieldNumber << 3 | 1))
        base.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }
}
