import CNghttp2
import CTickwireShim

/// Bounds what one connection's header blocks may cost us by what they weigh
/// on the wire (issue 20, item 1). HPACK lets a client name a 4 KB dynamic
/// table entry with one byte, so ~131 KB of HEADERS and CONTINUATION frames
/// can decode to ~529 MB: work we must not do for bytes we did not receive.
///
/// Header blocks never interleave on a connection (RFC 9113 §6.10), so one
/// budget per connection follows the block in progress:
/// - up to the header list limit, every field reaches RequestHeaders;
/// - past it, a request's fields are only counted, in C (the stream is
///   refused with 431 anyway): they never reach Swift;
/// - past `limit + bombRatio × wire bytes`, the block is a bomb: the
///   connection gets GOAWAY ENHANCE_YOUR_CALM.
///
/// The counting lives in the shim's `tw_header_gate`, which nghttp2 calls for
/// every field (it is the session's user_data); this type owns that memory
/// and is the Swift side of it. A struct, not a class: one heap block per
/// connection (the gate) instead of two.
struct HeaderBlockBudget: ~Copyable {
    /// Decoded bytes (RFC 7541 §4.1: name + value + 32) allowed per wire byte
    /// once a block is past the header list limit. The static table's best
    /// (a 1-byte index for a ~60-byte entry) stays under 64; only references
    /// repeated into the dynamic table go beyond, which is what a bomb does.
    /// A merely-too-large list (literal fields) decodes at about 1:1.
    static let bombRatio = 64

    /// What to do with one decoded field.
    enum Admission: Equatable {
        /// Within the header list limit (or the field that crosses it): record it.
        case record
        /// Past the limit: counted, never handed to the stream.
        case skip
        /// Decoded far beyond its wire weight: end the connection.
        case bomb
    }

    /// nghttp2's user_data for the connection's session.
    let gate: UnsafeMutablePointer<tw_header_gate>

    /// `connection`: what the gate hands the Swift callbacks (unretained).
    init(listLimitBytes: Int, connection: UnsafeMutableRawPointer? = nil, forward: tw_header_forward? = nil) {
        gate = .allocate(capacity: 1)
        gate.initialize(to: tw_header_gate(
            connection: connection, forward: forward, list_limit_bytes: Int64(listLimitBytes),
            wire_bytes: 0, decoded_bytes: 0, bomb_ratio: Int32(Self.bombRatio),
            bomb_result: NGHTTP2_ERR_CALLBACK_FAILURE.rawValue, stops_past_limit: 0, exploded: 0))
    }

    deinit {
        gate.deallocate()
    }

    /// HEADERS and CONTINUATION payload bytes of the block in progress.
    var wireBytes: Int { Int(gate.pointee.wire_bytes) }
    /// Its decoded size so far, every field counted (skipped ones too).
    var decodedBytes: Int { Int(gate.pointee.decoded_bytes) }
    /// Set once a block was judged a bomb; stays set (the connection ends).
    var exploded: Bool { gate.pointee.exploded != 0 }

    /// A HEADERS frame starts a new block.
    func blockStarted(payloadBytes: Int) {
        gate.pointee.wire_bytes = Int64(payloadBytes)
        gate.pointee.decoded_bytes = 0
        gate.pointee.stops_past_limit = 0
    }

    /// A CONTINUATION frame adds to the block in progress.
    func blockContinued(payloadBytes: Int) {
        gate.pointee.wire_bytes += Int64(payloadBytes)
    }

    /// The block in progress opens a request: its fields past the limit stop
    /// in the gate. (Trailers go on to Swift, which resets their stream at
    /// the first field over; nghttp2 then decodes the rest without callbacks.)
    func requestBlockBegan() {
        gate.pointee.stops_past_limit = 1
    }

    /// Weighs one decoded field, as the gate does before any other work on it.
    func admit(nameBytes: Int, valueBytes: Int) -> Admission {
        switch Int(tw_header_gate_admit(gate, nameBytes, valueBytes)) {
        case TW_HEADER_RECORD: return .record
        case TW_HEADER_SKIP: return .skip
        default: return .bomb
        }
    }
}
