import GRPCWire

/// Reassembles length-prefixed gRPC messages from DATA frame chunks, which may
/// split a message (or its 5-byte prefix) anywhere.
public struct MessageDeframer {
    public enum Failure: Error, Equatable {
        /// The prefix announced more than the receive limit.
        case tooLarge(announced: Int, limit: Int)
        /// The compressed flag was set; this server negotiates no compression.
        case compressed
    }

    public let limit: Int
    private var prefix: [UInt8] = []
    private var body: [UInt8] = []
    private var expected = -1
    private var failed = false

    public init(limit: Int) {
        self.limit = limit
    }

    /// True while part of a message has arrived but not all of it.
    public var hasPartialMessage: Bool { !prefix.isEmpty || expected >= 0 }

    /// Memory held for a message still arriving: counted in the server's
    /// --max-queued-bytes budget, since a client that announces large
    /// messages on many streams and never finishes them holds it.
    public var heldBytes: Int { body.capacity }

    /// Forgets the message in progress and frees its memory; further input
    /// is ignored (the stream is ending).
    public mutating func abandon() {
        failed = true
        prefix = []
        body = []
        expected = -1
    }

    /// Consumes `chunk`, calling `deliver` once per completed message.
    /// After a failure the deframer ignores all further input.
    public mutating func consume(
        _ chunk: UnsafeRawBufferPointer, deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(Failure) {
        guard !failed else { return }
        var offset = 0
        while offset < chunk.count {
            if expected < 0 {
                let take = min(WireMessage.prefixLength - prefix.count, chunk.count - offset)
                prefix.append(contentsOf: chunk[offset..<offset + take])
                offset += take
                guard prefix.count == WireMessage.prefixLength else { return }
                try startMessage()
                if expected == 0 { finishMessage(deliver) }
                continue
            }
            let needed = expected - body.count
            let available = chunk.count - offset
            if body.isEmpty && available >= needed {
                // Whole message inside this chunk: hand it over without copying.
                deliver(UnsafeRawBufferPointer(rebasing: chunk[offset..<offset + needed]))
                offset += needed
                reset()
                continue
            }
            let take = min(needed, available)
            body.append(contentsOf: chunk[offset..<offset + take])
            offset += take
            if body.count == expected { finishMessage(deliver) }
        }
    }

    private mutating func startMessage() throws(Failure) {
        let flag = prefix[0]
        let length = Int(prefix[1]) << 24 | Int(prefix[2]) << 16 | Int(prefix[3]) << 8 | Int(prefix[4])
        if flag != 0 {
            failed = true
            throw .compressed
        }
        if length > limit {
            failed = true
            throw .tooLarge(announced: length, limit: limit)
        }
        expected = length
        // Only a little ahead of the bytes: an announced length costs the
        // client nothing, so it must not cost the server much either.
        body.reserveCapacity(min(length, Self.initialReserve))
    }

    private mutating func finishMessage(_ deliver: (UnsafeRawBufferPointer) -> Void) {
        body.withUnsafeBytes { deliver($0) }
        reset()
        // A large message's buffer is not kept for the next one: most
        // requests are small, and held memory counts against the budget.
        if body.capacity > Self.initialReserve { body = [] }
    }

    static let initialReserve = 4 * 1024

    private mutating func reset() {
        prefix.removeAll(keepingCapacity: true)
        body.removeAll(keepingCapacity: true)
        expected = -1
    }
}
