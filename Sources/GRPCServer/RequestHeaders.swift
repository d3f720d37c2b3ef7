/// The request header fields gRPC cares about, collected as nghttp2 reports
/// them one by one, then judged once the header block is complete.
///
/// A class that a stream holds only until its call opens
/// (HTTP2Connection.requestHeadersComplete): 112 bytes inline in every
/// stream for the call's whole life were a tenth of a connection's memory
/// at capacity, for fields read once.
final class RequestHeaders {
    /// `:method` and `content-type` are judged as they arrive and only the
    /// verdicts kept: a stream lives as long as its call, and a kept
    /// "application/grpc" is a heap string (16 bytes, one past the inline
    /// limit) in every one of them.
    var isPost = false
    var isGRPCContentType = false
    var path = ""
    /// Raw `grpc-timeout` and `grpc-encoding` values; nil when not sent.
    var grpcTimeout: String?
    var grpcEncoding: String?
    /// The two metadata fields a client uses to bound its own stream (read
    /// by FanOut's StreamBound). Only these are kept, raw, so that other
    /// metadata costs nothing; nil when not sent.
    var streamDuration: String?
    var streamMessages: String?

    /// The header list bound (--max-header-list-bytes); set when the stream
    /// begins. nghttp2 advertises it but does not enforce it.
    var maxListBytes = Int.max
    /// Header list size so far, as RFC 7541 §4.1 counts it: name + value + 32
    /// per field. Counting goes on past the limit so the error can say how big.
    private(set) var listBytes = 0
    var exceedsListLimit: Bool { listBytes > maxListBytes }

    /// Why a request cannot be a gRPC call, as the HTTP status and gRPC
    /// status to answer with. Plain HTTP clients get a non-200 so they cannot
    /// mistake the error for success (PROTOCOL-HTTP2.md).
    enum Rejection: Equatable {
        case methodNotAllowed
        case unsupportedMediaType
        /// The header list outgrew --max-header-list-bytes.
        case headerListTooLarge(bytes: Int, limit: Int)
        /// A `grpc-encoding` other than identity: we decompress nothing, so
        /// the call is refused before any message (as grpc-go does), and the
        /// response's `grpc-accept-encoding` says what would work.
        case unsupportedEncoding(String)
        /// A `grpc-timeout` that is not 1-8 digits and a unit.
        case malformedTimeout(String)

        var httpStatus: String {
            switch self {
            case .methodNotAllowed: return "405"
            case .unsupportedMediaType: return "415"
            case .headerListTooLarge: return "431"
            // gRPC-level refusals of a well-formed HTTP request: the status says it all.
            case .unsupportedEncoding, .malformedTimeout: return "200"
            }
        }

        var status: GRPCStatus {
            switch self {
            case .methodNotAllowed:
                return GRPCStatus(.unimplemented, "gRPC requires the POST method")
            case .unsupportedMediaType:
                return GRPCStatus(.internal, "content-type must be application/grpc, application/grpc+proto or application/grpc;…")
            case .headerListTooLarge(let bytes, let limit):
                return GRPCStatus(.resourceExhausted, "request header list of \(bytes) bytes exceeds the limit of \(limit) bytes")
            case .unsupportedEncoding(let encoding):
                return GRPCStatus(.unimplemented, "grpc-encoding '\(encoding.prefix(64))' is not supported; this server accepts identity only")
            case .malformedTimeout(let timeout):
                return GRPCStatus(.internal, "malformed grpc-timeout '\(timeout.prefix(64))': want 1 to 8 digits and a unit (H, M, S, m, u or n)")
            }
        }
    }

    /// Past the limit nothing more is kept: the request is refused anyway,
    /// and an attacker's fields must cost no memory.
    ///
    /// A `:path` equal to one of `methodPaths` shares that string instead of
    /// copying its own: a method path is longer than Swift's inline strings,
    /// so a copy is an 80-byte heap block for as long as the call lives.
    func record(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, methodPaths: [String] = []) {
        listBytes += name.count + value.count + 32
        guard !exceedsListLimit else { return }
        switch name.count {
        case 5 where equals(name, ":path"): path = Self.path(value, sharing: methodPaths)
        case 7 where equals(name, ":method"): isPost = equals(value, "POST")
        case 12 where equals(name, "content-type"):
            isGRPCContentType = Self.isGRPCContentType(String(decoding: value, as: UTF8.self))
        case 12 where equals(name, "grpc-timeout"): grpcTimeout = String(decoding: value, as: UTF8.self)
        case 13 where equals(name, "grpc-encoding"): grpcEncoding = String(decoding: value, as: UTF8.self)
        case 24 where equals(name, "tickwire-stream-duration"): streamDuration = String(decoding: value, as: UTF8.self)
        case 24 where equals(name, "tickwire-stream-messages"): streamMessages = String(decoding: value, as: UTF8.self)
        default: break  // te and everything else: nghttp2 already enforces what HTTP/2 requires.
        }
    }

    private static func path(_ value: UnsafeRawBufferPointer, sharing methodPaths: [String]) -> String {
        for known in methodPaths where known.utf8.count == value.count {
            var candidate = known  // withUTF8 is mutating: it may make a bridged string native
            let same = candidate.withUTF8 { memcmp($0.baseAddress!, value.baseAddress!, value.count) == 0 }
            if same { return known }
        }
        return String(decoding: value, as: UTF8.self)
    }

    func validate() -> Rejection? {
        if exceedsListLimit { return .headerListTooLarge(bytes: listBytes, limit: maxListBytes) }
        if !isPost { return .methodNotAllowed }
        if !isGRPCContentType { return .unsupportedMediaType }
        if let grpcEncoding, !Self.isIdentity(grpcEncoding) { return .unsupportedEncoding(grpcEncoding) }
        if let grpcTimeout, GRPCTimeout.nanoseconds(grpcTimeout) == nil { return .malformedTimeout(grpcTimeout) }
        return nil
    }

    /// No encoding at all: an empty value is as good as none.
    static func isIdentity(_ encoding: String) -> Bool {
        encoding.isEmpty || encoding.lowercased() == "identity"
    }

    static func isGRPCContentType(_ value: String) -> Bool {
        let lowered = value.lowercased()
        return lowered == "application/grpc" || lowered.hasPrefix("application/grpc+") || lowered.hasPrefix("application/grpc;")
    }

    private func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { literalBytes in
            bytes.count == literalBytes.count && memcmp(bytes.baseAddress!, literalBytes.baseAddress!, bytes.count) == 0
        }
    }
}

import Glibc
import GRPCWire
