/// Bounds what one connection's header blocks may cost us by what they weigh
/// on the wire (issue 20, item 1). HPACK lets a client name a 4 KB dynamic
/// table entry with one byte, so ~131 KB of HEADERS and CONTINUATION frames
/// can decode to ~529 MB: work we must not do for bytes we did not receive.
///
/// Header blocks never interleave on a connection (RFC 9113 §6.10), so one
/// budget per connection follows the block in progress:
/// - up to the header list limit, every field reaches RequestHeaders;
/// - past it, fields are only counted (the stream is refused with 431 anyway);
/// - past `limit + bombRatio × wire bytes`, the block is a bomb: the
///   connection gets GOAWAY ENHANCE_YOUR_CALM.
struct HeaderBlockBudget {
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
        /// Past the limit: counted here, never handed to the stream.
        case skip
        /// Decoded far beyond its wire weight: end the connection.
        case bomb
    }

    /// --max-header-list-bytes: the free allowance of every block.
    let listLimitBytes: Int
    /// HEADERS and CONTINUATION payload bytes of the block in progress.
    private(set) var wireBytes = 0
    /// Its decoded size so far, every field counted (skipped ones too).
    private(set) var decodedBytes = 0
    /// Set once a block was judged a bomb; stays set (the connection ends).
    private(set) var exploded = false

    init(listLimitBytes: Int) {
        self.listLimitBytes = listLimitBytes
    }

    /// A HEADERS frame starts a new block.
    mutating func blockStarted(payloadBytes: Int) {
        wireBytes = payloadBytes
        decodedBytes = 0
    }

    /// A CONTINUATION frame adds to the block in progress.
    mutating func blockContinued(payloadBytes: Int) {
        wireBytes += payloadBytes
    }

    /// Called for every decoded field, before any other work on it.
    mutating func admit(nameBytes: Int, valueBytes: Int) -> Admission {
        let before = decodedBytes
        decodedBytes += nameBytes + valueBytes + 32
        if decodedBytes > listLimitBytes + Self.bombRatio * wireBytes {
            exploded = true
            return .bomb
        }
        return before <= listLimitBytes ? .record : .skip
    }
}
