import CNghttp2

/// The 8 opaque bytes of the PINGs we send, so that an ACK says which PING it
/// answers: the one after the GOAWAY notice proves the client saw the notice,
/// the keepalive one only that the client is there.
enum PingPayload: Equatable {
    /// Follows the graceful GOAWAY notice (drain or max connection age).
    case drain
    /// Probes a silent peer (--keepalive-time).
    case keepalive
    /// Anything else: a client's own PING, or an ACK we cannot place.
    case other

    var bytes: [UInt8] {
        switch self {
        case .drain: return Array("tw-drain".utf8)
        case .keepalive: return Array("tw-alive".utf8)
        case .other: return Array(repeating: 0, count: 8)
        }
    }

    /// The payload of a received PING frame.
    init(_ ping: nghttp2_ping) {
        let opaque = ping.opaque_data
        let bytes = [opaque.0, opaque.1, opaque.2, opaque.3, opaque.4, opaque.5, opaque.6, opaque.7]
        if bytes == PingPayload.drain.bytes {
            self = .drain
        } else if bytes == PingPayload.keepalive.bytes {
            self = .keepalive
        } else {
            self = .other
        }
    }
}
