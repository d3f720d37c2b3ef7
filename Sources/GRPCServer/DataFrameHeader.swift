/// The 9-byte header of a DATA frame the server writes itself (RFC 9113
/// §4.1, §6.1): no flags, since a gRPC response ends with its trailers, and
/// never padded.
enum DataFrameHeader {
    static let bytes = 9
    static let dataType: UInt8 = 0x0

    /// `length` must fit in 24 bits: it is at most SETTINGS_MAX_FRAME_SIZE.
    @inline(__always)
    static func write(into header: UnsafeMutableRawPointer, length: Int, streamID: UInt32) {
        header.storeBytes(of: UInt8(truncatingIfNeeded: length >> 16), toByteOffset: 0, as: UInt8.self)
        header.storeBytes(of: UInt16(truncatingIfNeeded: length).bigEndian, toByteOffset: 1, as: UInt16.self)
        header.storeBytes(of: dataType, toByteOffset: 3, as: UInt8.self)
        header.storeBytes(of: 0 as UInt8, toByteOffset: 4, as: UInt8.self)
        header.storeBytes(of: (streamID & 0x7fff_ffff).bigEndian, toByteOffset: 5, as: UInt32.self)
    }
}
