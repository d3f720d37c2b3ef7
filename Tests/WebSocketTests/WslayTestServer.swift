import CWslay

/// The peer in session tests: a real wslay server context, so the client is
/// checked against an independent RFC 6455 implementation (which, among other
/// things, fails the connection on unmasked client frames).
final class WslayTestServer {
    /// A complete message the server received.
    struct Message: Equatable {
        var opcode: UInt8
        var payload: [UInt8]
        var text: String { String(decoding: payload, as: UTF8.self) }
    }

    /// Feeds one queued fragmented message to wslay, one fragment per frame.
    final class FragmentSource {
        var fragments: [[UInt8]]
        init(_ fragments: [[UInt8]]) { self.fragments = fragments }
    }

    private var context: OpaquePointer!
    let incoming: ByteChannel
    let outgoing: ByteChannel
    private(set) var messages: [Message] = []
    /// Close code the server received from the client (0 when the frame had none).
    private(set) var receivedCloseCode: UInt16?
    private(set) var receivedCloseReason: String?
    /// Kept alive while wslay may still call back for their fragments.
    private var fragmentSources: [FragmentSource] = []

    init(incoming: ByteChannel, outgoing: ByteChannel) {
        self.incoming = incoming
        self.outgoing = outgoing
        var callbacks = wslay_event_callbacks()
        callbacks.recv_callback = { context, buffer, length, _, userData in
            let server = Unmanaged<WslayTestServer>.fromOpaque(userData!).takeUnretainedValue()
            let count = server.incoming.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: length), limit: .max)
            if count > 0 { return count }
            let ended = server.incoming.isEndOfStream
            wslay_event_set_error(context, ended ? WSLAY_ERR_CALLBACK_FAILURE.rawValue : WSLAY_ERR_WOULDBLOCK.rawValue)
            return -1
        }
        callbacks.send_callback = { _, bytes, length, _, userData in
            let server = Unmanaged<WslayTestServer>.fromOpaque(userData!).takeUnretainedValue()
            server.outgoing.write(UnsafeRawBufferPointer(start: bytes, count: length))
            return length
        }
        callbacks.on_msg_recv_callback = { _, argument, userData in
            let server = Unmanaged<WslayTestServer>.fromOpaque(userData!).takeUnretainedValue()
            server.record(argument!.pointee)
        }
        var created: OpaquePointer?
        let status = wslay_event_context_server_init(&created, &callbacks, Unmanaged.passUnretained(self).toOpaque())
        precondition(status == 0)
        context = created
    }

    deinit {
        wslay_event_context_free(context)
    }

    func queue(opcode: UInt8, _ payload: [UInt8]) {
        let status = payload.withUnsafeBufferPointer { buffer in
            var message = wslay_event_msg(opcode: opcode, msg: buffer.baseAddress, msg_length: buffer.count)
            return wslay_event_queue_msg(context, &message)
        }
        precondition(status == 0, "server could not queue opcode \(opcode): \(status)")
    }

    func queueText(_ text: String) { queue(opcode: UInt8(WSLAY_TEXT_FRAME.rawValue), Array(text.utf8)) }
    func queueBinary(_ bytes: [UInt8]) { queue(opcode: UInt8(WSLAY_BINARY_FRAME.rawValue), bytes) }
    func queuePing(_ payload: [UInt8]) { queue(opcode: UInt8(WSLAY_PING.rawValue), payload) }

    /// Code 0 sends a close frame without a status code.
    func queueClose(code: UInt16, reason: String = "") {
        let bytes = Array(reason.utf8)
        let status = bytes.withUnsafeBufferPointer { wslay_event_queue_close(context, code, $0.baseAddress, $0.count) }
        precondition(status == 0)
    }

    /// Queues one message that wslay sends as one frame per fragment.
    func queueFragmented(opcode: UInt8, fragments: [[UInt8]]) {
        let source = FragmentSource(fragments)
        fragmentSources.append(source)
        var message = wslay_event_fragmented_msg()
        message.opcode = opcode
        message.source.data = Unmanaged.passUnretained(source).toOpaque()
        message.read_callback = { _, buffer, length, source, eof, _ in
            let fragments = Unmanaged<FragmentSource>.fromOpaque(source!.pointee.data!).takeUnretainedValue()
            let next = fragments.fragments.removeFirst()
            precondition(next.count <= length)
            next.withUnsafeBytes { UnsafeMutableRawPointer(buffer!).copyMemory(from: $0.baseAddress!, byteCount: next.count) }
            eof!.pointee = fragments.fragments.isEmpty ? 1 : 0
            return next.count
        }
        precondition(wslay_event_queue_fragmented_msg(context, &message) == 0)
    }

    /// Writes everything queued into the channel towards the client.
    func flush() {
        precondition(wslay_event_send(context) == 0)
    }

    /// Processes what the client sent, then writes any automatic replies (pong, close).
    @discardableResult
    func receive() -> Int32 {
        let status = wslay_event_recv(context)
        flush()
        return status
    }

    var sentCloseCode: UInt16? {
        wslay_event_get_close_sent(context) != 0 ? wslay_event_get_status_code_sent(context) : nil
    }

    var isReading: Bool { wslay_event_want_read(context) != 0 }

    private func record(_ argument: wslay_event_on_msg_recv_arg) {
        let payload = Array(UnsafeRawBufferPointer(start: argument.msg, count: argument.msg_length))
        messages.append(Message(opcode: argument.opcode, payload: payload))
        if argument.opcode == UInt8(WSLAY_CONNECTION_CLOSE.rawValue) {
            receivedCloseCode = argument.status_code
            receivedCloseReason = payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : ""
        }
    }
}
