import CWslay

// The C side of WebSocketSession, kept in one file: wslay calls these
// function pointers with the session as user data, and they translate
// between wslay's conventions (byte counts, -1 plus an error code) and ours.

extension WebSocketSession {
    /// The callback table for the client context. Chunk and frame-end callbacks
    /// stay nil: we take whole messages, which wslay reassembles.
    static func wslayCallbacks() -> wslay_event_callbacks {
        var callbacks = wslay_event_callbacks()
        callbacks.recv_callback = { _, buffer, length, _, userData in
            sessionFrom(userData).readForWslay(into: UnsafeMutableRawBufferPointer(start: buffer, count: length))
        }
        callbacks.send_callback = { _, bytes, length, _, userData in
            sessionFrom(userData).writeForWslay(UnsafeRawBufferPointer(start: bytes, count: length))
        }
        callbacks.genmask_callback = { _, buffer, length, userData in
            sessionFrom(userData).generateMask(into: buffer, count: length)
        }
        callbacks.on_frame_recv_start_callback = { _, _, userData in
            let session = sessionFrom(userData)
            session.delegate.webSocketDidReceiveFrame(session)
        }
        callbacks.on_msg_recv_callback = { _, argument, userData in
            guard let argument else { return }
            sessionFrom(userData).deliver(argument.pointee)
        }
        return callbacks
    }

    /// wslay's recv callback: handshake leftovers first, then the transport.
    func readForWslay(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if leftoverOffset < leftover.count {
            let count = min(buffer.count, leftover.count - leftoverOffset)
            leftover.withUnsafeBytes { source in
                // Safe because both ranges were bounds-checked by `count` above.
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + leftoverOffset, byteCount: count)
            }
            leftoverOffset += count
            if leftoverOffset == leftover.count {
                leftover = []
                leftoverOffset = 0
            }
            return count
        }
        let result = transport.read(into: buffer)
        if case .transferred(let count) = result {
            precondition(count > 0 && count <= buffer.count, "transport read \(count) bytes into a \(buffer.count)-byte buffer")
            return count
        }
        return refuse(result, wouldBlock: &readWouldBlock)
    }

    /// wslay's send callback.
    func writeForWslay(_ bytes: UnsafeRawBufferPointer) -> Int {
        let result = transport.write(bytes)
        if case .transferred(let count) = result {
            precondition(count > 0 && count <= bytes.count, "transport wrote \(count) of \(bytes.count) bytes")
            return count
        }
        return refuse(result, wouldBlock: &writeWouldBlock)
    }

    /// Masks must be unpredictable to the peer's intermediaries (RFC 6455 section 10.3).
    func generateMask(into buffer: UnsafeMutablePointer<UInt8>?, count: Int) -> Int32 {
        guard let buffer, HandshakeCrypto.fillRandom(buffer, count: count) else {
            terminalResult = .failed("RAND_bytes failed to generate a frame mask")
            return -1
        }
        return 0
    }

    /// A complete message. Ping needs nothing (wslay queued the pong); pong
    /// and every other frame were already reported at their start.
    func deliver(_ message: wslay_event_on_msg_recv_arg) {
        let payload = UnsafeRawBufferPointer(start: message.msg, count: message.msg_length)
        switch message.opcode {
        case Opcode.text:
            delegate.webSocket(self, didReceiveText: payload)
        case Opcode.binary:
            delegate.webSocket(self, didReceiveBinary: payload)
        case Opcode.close:
            // The payload is the 2-byte code, then the UTF-8 reason (which wslay validated).
            let reason = payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : ""
            delegate.webSocket(self, didReceiveClose: wslay_event_get_status_code_received(context), reason: reason)
        default:
            break
        }
    }

    /// Turns a transport result that moved no bytes into wslay's -1 plus error code.
    private func refuse(_ result: TransportIO, wouldBlock: inout Bool) -> Int {
        switch result {
        case .wouldBlock:
            wouldBlock = true
            wslay_event_set_error(context, WSLAY_ERR_WOULDBLOCK.rawValue)
            return -1
        case .closed:
            terminalResult = .closed
        case .failed(let reason):
            terminalResult = .failed(reason)
        case .transferred:
            preconditionFailure("byte counts are handled by the caller")
        }
        wslay_event_set_error(context, WSLAY_ERR_CALLBACK_FAILURE.rawValue)
        return -1
    }
}

/// Safe because wslay passes back the pointer we gave it in init, and the
/// session frees the context in deinit, so no callback outlives the session.
private func sessionFrom(_ userData: UnsafeMutableRawPointer?) -> WebSocketSession {
    Unmanaged<WebSocketSession>.fromOpaque(userData!).takeUnretainedValue()
}
