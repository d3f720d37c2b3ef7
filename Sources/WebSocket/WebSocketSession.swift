import CWslay

/// One WebSocket client connection after a successful handshake: wslay does the
/// framing, the caller's reactor decides when to call `receive()` and `flush()`.
/// Single-threaded: every call, and every delegate callback, happens on the
/// thread that owns the session.
public final class WebSocketSession {
    /// The largest message wslay will buffer; a longer one is answered with
    /// close 1009, so a hostile server cannot make us buffer without bound.
    public static let maximumMessageLength = 1 << 20
    /// RFC 6455 section 5.5: control frames carry at most 125 payload bytes.
    public static let maximumControlPayloadLength = 125
    /// RFC 6455 section 5.5.1: the close reason shares those 125 bytes with the 2-byte code.
    static let maximumCloseReasonLength = 123

    // Internal rather than private: the wslay glue in WebSocketSession+Wslay.swift uses them.

    /// Implicitly unwrapped only because the C context takes `self` as its user
    /// data, which exists only once every other property is set. Set once in init.
    private(set) var context: OpaquePointer!
    let transport: WebSocketTransport
    /// Unowned: the delegate (the feed) owns the session, and a strong
    /// reference back would be a cycle.
    unowned let delegate: WebSocketSessionDelegate
    /// Bytes that arrived with the handshake response; wslay reads them first.
    var leftover: [UInt8]
    var leftoverOffset = 0
    /// The transport said `.wouldBlock` to a read during the current `receive()`.
    var readWouldBlock = false
    /// The transport said `.wouldBlock` to a write during the current flush.
    var writeWouldBlock = false
    /// Why no more frames can move, once that is so; returned by every later call.
    var terminalResult: SessionIO?
    private var isReceiving = false

    /// - Parameter leftover: bytes read past the handshake response; they are
    ///   consumed before anything is read from `transport`.
    public init(transport: WebSocketTransport, leftover: [UInt8], delegate: WebSocketSessionDelegate) {
        self.transport = transport
        self.delegate = delegate
        self.leftover = leftover
        var callbacks = Self.wslayCallbacks()
        var created: OpaquePointer?
        let status = wslay_event_context_client_init(&created, &callbacks, Unmanaged.passUnretained(self).toOpaque())
        guard status == 0, let created else { fatalError("wslay could not allocate a client context (\(status))") }
        context = created
        wslay_event_config_set_max_recv_msg_length(created, UInt64(Self.maximumMessageLength))
    }

    deinit {
        // Frees queued frames too; wslay never calls back from here.
        wslay_event_context_free(context)
    }

    /// wslay wants to read: the peer has not closed, and nothing failed.
    public var wantsRead: Bool { wslay_event_want_read(context) != 0 }
    /// Frames are queued and writing is still allowed.
    public var wantsWrite: Bool { wslay_event_want_write(context) != 0 }
    /// The close handshake is done or the session failed: drop the transport.
    public var isFinished: Bool { !wantsRead && !wantsWrite }

    /// The code of the close frame the peer sent (1005 if it had none), or nil before one arrived.
    public var receivedCloseCode: UInt16? {
        wslay_event_get_close_received(context) != 0 ? wslay_event_get_status_code_received(context) : nil
    }

    /// The code of the close frame we sent (1005 if it had none), or nil before one left.
    public var sentCloseCode: UInt16? {
        wslay_event_get_close_sent(context) != 0 ? wslay_event_get_status_code_sent(context) : nil
    }

    /// Reads and processes everything the transport has now (until it would
    /// block), then writes what is queued, so that wslay's automatic pong and
    /// close replies leave in the same call.
    public func receive() -> SessionIO {
        precondition(!isReceiving, "receive() re-entered from a delegate callback")
        // A delegate may drop its last reference to us mid-callback; wslay is still on the stack.
        return withExtendedLifetime(self) {
            isReceiving = true
            defer { isReceiving = false }
            return receiveThenAnswer()
        }
    }

    /// Writes queued frames until none remain or the transport would block.
    public func flush() -> SessionIO {
        precondition(!isReceiving, "flush() called from a delegate callback; queued frames leave when receive() returns")
        return writeQueued()
    }

    /// Queues a ping; false once closing or closed, or if the payload exceeds 125 bytes.
    public func sendPing(_ payload: [UInt8]) -> Bool {
        guard payload.count <= Self.maximumControlPayloadLength else { return false }
        return payload.withUnsafeBytes { queue(opcode: Opcode.ping, $0) }
    }

    /// Queues a text message (the Binance SUBSCRIBE JSON); false once closing or closed.
    public func sendText(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { queue(opcode: Opcode.text, UnsafeRawBufferPointer($0)) }
    }

    /// Queues a close frame to start the close handshake; later calls do nothing.
    /// wslay sends control frames before queued data, so text not yet flushed
    /// is dropped. The reason is cut to 123 bytes at a character boundary.
    public func close(code: UInt16 = 1000, reason: String = "") {
        guard terminalResult == nil else { return }
        let reasonBytes = Self.closeReason(reason)
        let status = reasonBytes.withUnsafeBufferPointer {
            wslay_event_queue_close(context, code, $0.baseAddress, $0.count)
        }
        // NO_MORE_MSG means a close is already queued or sent: that is the idempotence.
        assert(status == 0 || status == WSLAY_ERR_NO_MORE_MSG.rawValue, "wslay_event_queue_close returned \(status)")
    }

    private func receiveThenAnswer() -> SessionIO {
        if let terminalResult { return terminalResult }
        readWouldBlock = false
        // wslay_event_recv also returns after a read that ended inside a frame
        // header, without asking again. Bytes left in TLS buffers would then
        // never wake the reactor, so we call again until the transport blocks.
        while wantsRead && !readWouldBlock {
            wslay_event_set_error(context, 0)
            let status = wslay_event_recv(context)
            if let terminalResult { return stop(terminalResult) }
            if status == WSLAY_ERR_NOMEM.rawValue { return stop(.failed("out of memory buffering a WebSocket message")) }
            // Any other error is a framing violation: wslay queued a close and stopped reading.
            if status != 0 { break }
        }
        let written = writeQueued()
        guard written == .ok else { return written }
        if let violation = peerViolation { return .failed(violation) }
        return .ok
    }

    private func writeQueued() -> SessionIO {
        if let terminalResult { return terminalResult }
        writeWouldBlock = false
        // As with reading, wslay_event_send returns after a short write without retrying.
        while wantsWrite && !writeWouldBlock {
            wslay_event_set_error(context, 0)
            if wslay_event_send(context) != 0 {
                return stop(terminalResult ?? .failed("wslay could not build a frame"))
            }
        }
        return .ok
    }

    /// wslay stops reading without a close from the peer only when the peer
    /// broke RFC 6455; it then queues a close with 1002, 1007 or 1009 itself.
    private var peerViolation: String? {
        guard !wantsRead, wslay_event_get_close_received(context) == 0 else { return nil }
        switch sentCloseCode {
        case 1009: return "peer sent a message over \(Self.maximumMessageLength) bytes; sent close 1009"
        case 1007: return "peer sent invalid UTF-8; sent close 1007"
        case let code?: return "peer violated the WebSocket protocol; sent close \(code)"
        case nil: return "peer violated the WebSocket protocol; closing"
        }
    }

    /// Records why the session ended and stops wslay from touching the transport again.
    private func stop(_ result: SessionIO) -> SessionIO {
        terminalResult = result
        wslay_event_shutdown_read(context)
        wslay_event_shutdown_write(context)
        return result
    }

    private func queue(opcode: UInt8, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard terminalResult == nil else { return false }
        // wslay copies the payload while queueing, so the pointer need not outlive this call.
        var message = wslay_event_msg(opcode: opcode, msg: payload.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                      msg_length: payload.count)
        return wslay_event_queue_msg(context, &message) == 0
    }

    /// The reason's UTF-8, cut at a character boundary to fit a close frame.
    private static func closeReason(_ reason: String) -> [UInt8] {
        let bytes = Array(reason.utf8)
        guard bytes.count > maximumCloseReasonLength else { return bytes }
        var end = maximumCloseReasonLength
        // Back up over continuation bytes (10xxxxxx): the peer rejects a split character as invalid UTF-8.
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }
}

/// RFC 6455 section 5.2 opcodes, as literals so the per-message switch folds to constants.
enum Opcode {
    static let continuation: UInt8 = 0x0
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA
}
