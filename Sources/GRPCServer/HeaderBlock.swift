import CNghttp2
import GRPCWire

/// Builds an nghttp2 name/value array for one submit call. nghttp2 copies the
/// names and values during submit (we never pass NO_COPY flags), so the
/// storage only has to outlive the call.
enum HeaderBlock {
    static func with<R>(_ fields: [(String, String)], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        precondition(!fields.isEmpty && !fields[0].0.isEmpty, "a header block needs a named field")
        var storage = [UInt8]()
        storage.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count })
        var ranges: [(Int, Int, Int, Int)] = []
        for (name, value) in fields {
            let nameStart = storage.count
            storage.append(contentsOf: name.utf8)
            let valueStart = storage.count
            storage.append(contentsOf: value.utf8)
            ranges.append((nameStart, name.utf8.count, valueStart, value.utf8.count))
        }
        return storage.withUnsafeMutableBufferPointer { bytes in
            // Safe because every header block has at least a name, so the storage is not empty.
            let base = bytes.baseAddress!
            let vector = ranges.map { range in
                nghttp2_nv(name: base + range.0, value: base + range.2, namelen: range.1, valuelen: range.3,
                           flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return vector.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }

    /// Every response says which message encodings we accept (only identity),
    /// so a client that tried another learns why, and what to send instead.
    static let acceptEncoding = ("grpc-accept-encoding", "identity")

    static let responseHeaders: [(String, String)] = [(":status", "200"), ("content-type", "application/grpc"), acceptEncoding]

    static func trailers(_ status: GRPCStatus) -> [(String, String)] {
        var fields = [("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty { fields.append(("grpc-message", PercentEncoding.encode(status.message))) }
        return fields
    }
}
