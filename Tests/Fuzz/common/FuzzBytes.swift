// Reads a libFuzzer input front to back. Running out of bytes is normal: every
// read past the end yields zeros or an empty slice, so any prefix of an input
// is itself a meaningful input and the fuzzer can trim freely.

/// A cursor over one fuzz input, copied once so no pointer into libFuzzer's
/// buffer outlives the call.
struct FuzzBytes {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Big-endian, as the length prefixes in the seeds are written.
    mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    mutating func uint32() -> UInt32 {
        UInt32(uint16()) << 16 | UInt32(uint16())
    }

    /// Up to `count` bytes; fewer at the end of the input.
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, offset + count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}
