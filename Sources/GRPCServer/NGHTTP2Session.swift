import CNghttp2
import CTickwireShim
import Reactor

/// The C edge: nghttp2's callbacks, each a thin trampoline into
/// HTTP2Connection. `user_data` is the connection's header gate
/// (HeaderBlockBudget), which holds the connection, unretained: the
/// connection owns the gate and the session and deletes the session before
/// it goes away, so both pointers are valid whenever nghttp2 can call back.
/// Header fields go through the gate in C first (tw_header_gate_on_header).
enum NGHTTP2Session {
    static func makeServer(for connection: HTTP2Connection) throws(ConnectionSetupError) -> OpaquePointer {
        var callbacks: OpaquePointer?
        let created = nghttp2_session_callbacks_new(&callbacks)
        guard created == 0, let callbacks else {
            throw .nghttp2(call: "nghttp2_session_callbacks_new", code: created)
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, onBeginFrame)
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(callbacks, gatedOnHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameReceived)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSent)

        let option = try HTTP2Protections.makeOption(connection.limits)
        defer { nghttp2_option_del(option) }

        var session: OpaquePointer?
        let gate = connection.headerBudget.gate
        gate.pointee.connection = Unmanaged.passUnretained(connection).toOpaque()
        gate.pointee.forward = onHeader
        let userData = UnsafeMutableRawPointer(gate)
        // Safe because the hub's allocator outlives every connection (it is
        // deleted in the hub's deinit, which requires none open), and its
        // nghttp2_mem is the allocator's first member (nghttp2_memory.c).
        let allocator = connection.hub.nghttp2Allocator
        let memory = tw_nghttp2_allocator_mem(allocator).assumingMemoryBound(to: nghttp2_mem.self)
        // The frame buffer and encoder ring the session asks for while it is
        // made are the shared ones (GRPCLimits.sharedFrameBuffer), and its
        // session struct, stream map and decoder ring go to the session pages.
        tw_nghttp2_allocator_creating_session(allocator, 1)
        let started = nghttp2_session_server_new3(&session, callbacks, userData, option, memory)
        tw_nghttp2_allocator_creating_session(allocator, 0)
        guard started == 0, let session else {
            throw .nghttp2(call: "nghttp2_session_server_new3", code: started)
        }
        return session
    }

    @inline(__always)
    private static func connection(_ userData: UnsafeMutableRawPointer?) -> HTTP2Connection {
        let gate = userData!.assumingMemoryBound(to: tw_header_gate.self)
        return Unmanaged<HTTP2Connection>.fromOpaque(gate.pointee.connection!).takeUnretainedValue()
    }

    /// The shim's gate as nghttp2's on_header callback: the same C signature,
    /// with nghttp2's types spelled as void pointers in the shim's header.
    private static let gatedOnHeader = unsafeBitCast(
        tw_header_gate_on_header as @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafePointer<UInt8>?, Int,
                                                    UnsafePointer<UInt8>?, Int, UInt8, UnsafeMutableRawPointer?) -> Int32,
        to: nghttp2_on_header_callback.self)

    /// Every frame's header, before its payload: header blocks are weighed
    /// on the wire (HeaderBlockBudget) and stream ids checked for order.
    private static let onBeginFrame: nghttp2_on_begin_frame_callback = { _, header, userData in
        guard let header else { return 0 }
        switch UInt32(header.pointee.type) {
        case NGHTTP2_HEADERS.rawValue:
            connection(userData).headersFrameBegan(streamID: header.pointee.stream_id, payloadBytes: header.pointee.length)
        case NGHTTP2_CONTINUATION.rawValue:
            connection(userData).headerBudget.blockContinued(payloadBytes: header.pointee.length)
        default:
            break
        }
        return 0
    }

    private static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, userData in
        guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
              frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        let target = connection(userData)
        target.headerBudget.requestBlockBegan()
        target.beginRequest(streamID: frame.pointee.hd.stream_id)
        return 0
    }

    /// Called by the gate for fields it let through: a request's fields up
    /// to the header list limit, and every trailer field until one is over.
    /// Request headers are recorded; request trailers only counted. A trailer
    /// block over the header list limit resets its stream: nghttp2 answers
    /// TEMPORAL_CALLBACK_FAILURE with RST_STREAM and skips the rest of it.
    /// The last argument is the connection itself, not the gate.
    private static let onHeader: tw_header_forward = { _, frame, name, nameLength, value, valueLength, _, connectionPointer in
        guard let frame = frame?.assumingMemoryBound(to: nghttp2_frame.self),
              frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
        let target = Unmanaged<HTTP2Connection>.fromOpaque(connectionPointer!).takeUnretainedValue()
        let streamID = frame.pointee.hd.stream_id
        let name = UnsafeRawBufferPointer(start: name, count: nameLength)
        let value = UnsafeRawBufferPointer(start: value, count: valueLength)
        switch frame.pointee.headers.cat {
        case NGHTTP2_HCAT_REQUEST:
            target.header(streamID: streamID, name: name, value: value)
        case NGHTTP2_HCAT_HEADERS:
            if !target.trailerFits(streamID: streamID, name: name, value: value) {
                return Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
            }
        default:
            break
        }
        return 0
    }

    private static let onFrameReceived: nghttp2_on_frame_recv_callback = { _, frame, userData in
        guard let frame else { return 0 }
        let header = frame.pointee.hd
        let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        let target = connection(userData)
        switch UInt32(header.type) {
        case NGHTTP2_HEADERS.rawValue:
            if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                target.requestHeadersComplete(streamID: header.stream_id)
            }
            if endStream { target.endOfRequest(streamID: header.stream_id) }
        case NGHTTP2_DATA.rawValue:
            if endStream { target.endOfRequest(streamID: header.stream_id) }
        case NGHTTP2_RST_STREAM.rawValue:
            target.clientResetStream()
        case NGHTTP2_SETTINGS.rawValue:
            if header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 { target.clientSettingsReceived() }
        case NGHTTP2_PING.rawValue:
            if header.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 {
                target.pingAcknowledged(PingPayload(frame.pointee.ping))
            } else {
                target.clientPingReceived()
            }
        default:
            break
        }
        return 0
    }

    private static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, length, userData in
        connection(userData).data(streamID: streamID, chunk: UnsafeRawBufferPointer(start: data, count: length))
        return 0
    }

    /// HEADERS forgive the client's PING strikes (PingStrikePolicy), as DATA
    /// does in GRPCStream.writeDataFrame (nghttp2 sends no DATA: the streams
    /// write it, HTTP2Connection+Data); a GOAWAY may close the connection or
    /// start the drain PING.
    private static let onFrameSent: nghttp2_on_frame_send_callback = { _, frame, userData in
        guard let frame else { return 0 }
        switch UInt32(frame.pointee.hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            connection(userData).headersOrDataSent()
            if frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 {
                connection(userData).endOfResponseSent(streamID: frame.pointee.hd.stream_id)
            } else {
                connection(userData).responseHeadersSent(streamID: frame.pointee.hd.stream_id)
            }
        case NGHTTP2_GOAWAY.rawValue:
            connection(userData).goAwayFrameSent(errorCode: frame.pointee.goaway.error_code)
        default:
            break
        }
        return 0
    }

    private static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, _, userData in
        connection(userData).streamClosed(streamID: streamID)
        return 0
    }
}
