/// Just enough of the protobuf wire format to walk a small request's fields in
/// place, the reading counterpart of ProtobufWriter. Length-delimited values
/// are views into the caller's bytes, valid as long as those are.
public struct ProtobufReader {
    /// One field's value, by wire type.
    public enum Value {
        /// Wire type 0.
        case varint(UInt64)
        /// Wire type 2: strings, bytes and sub-messages.
        case delimited(UnsafeRawBufferPointer)
        /// Wire types 1 and 5, skipped: no request we read has them.
        case fixed
    }

    /// The bytes are not a protobuf message.
    public struct Malformed: Error {}

    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next field, or nil once every byte has been read.
    public mutating func next() throws(Malformed) -> (number: Int, value: Value)? {
        guard offset < bytes.count else { return nil }
        let key = try readVarint()
        let number = Int(truncatingIfNeeded: key >> 3)
        guard number > 0 else { throw Malformed() }
        switch key & 7 {
        case 0:
            return (number, .varint(try readVarint()))
        case 1:
            try skip(8)
            return (number, .fixed)
        case 2:
            let length = try readVarint()
            guard length <= UInt64(bytes.count - offset) else { throw Malformed() }
            let start = offset
            offset += Int(length)
            return (number, .delimited(UnsafeRawBufferPointer(rebasing: bytes[start..<offset])))
        case 5:
            try skip(4)
            return (number, .fixed)
        default:  // 3 and 4 are the deprecated groups; 6 and 7 do not exist.
            throw Malformed()
        }
    }

    private mutating func readVarint() throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw Malformed()
    }

    private mutating func skip(_ count: Int) throws(Malformed) {
        guard bytes.count - offset >= count else { throw Malformed() }
        offset += count
    }
}
