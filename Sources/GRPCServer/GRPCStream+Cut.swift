import CNghttp2
import GRPCWire

/// Ending a stream whose reader is not keeping up, so that its memory goes at
/// once. Its unsent messages are dropped and the status goes out next. When
/// the client's flow-control window is closed, the DATA ahead of the trailers
/// could not leave, so the trailers would wait (and the stream's state with
/// them) until the connection closed: then the trailers go out at once
/// (HEADERS are not flow-controlled) followed, once they are sent, by
/// RST_STREAM(NO_ERROR), which
/// frees nghttp2's side too (RFC 9113 §8.1 allows it after a complete
/// response). If part of a message is already on the wire, trailers would
/// corrupt the framing, so the stream is reset with ENHANCE_YOUR_CALM, which
/// gRPC clients report as RESOURCE_EXHAUSTED.
extension GRPCStream {
    /// A cut can free something: the stream is open, or finishing with data queued.
    var isCuttable: Bool {
        switch phase {
        case .open, .finishing: return true
        case .receivingHeaders, .ended, .closed: return false
        }
    }

    /// Drops what has not started going out and ends the stream with `status`.
    func cut(_ status: GRPCStatus) {
        guard isCuttable else { return }
        let before = outbound.pendingBytes
        outbound.dropUnsent()
        connection.backlog.queued(-(before - outbound.pendingBytes))
        guard connection.remoteWindowIsClosed(for: self) else {
            phase = .finishing(status)  // a finishing stream's status is replaced
            requestDataFlush()
            return
        }
        let partlySent = outbound.pendingBytes > 0
        discardQueued()
        phase = .ended
        if partlySent {
            connection.resetStream(self, errorCode: NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
        } else {
            // Not both now: RST_STREAM marks the stream closing at once, and
            // nghttp2 would then drop the trailers queued before it.
            connection.submitTrailers(self, status: status)
            resetAfterTrailers = true
        }
        connection.requestFlush()
    }
}

extension HTTP2Connection {
    /// No DATA byte of `stream` can leave until the client opens its window:
    /// the stream's own window or the connection's is spent.
    func remoteWindowIsClosed(for stream: GRPCStream) -> Bool {
        stream.sendWindow <= 0 || sendWindow <= 0
    }

    /// The response's last frame left: a cut stream whose client may still
    /// hold its side open is reset now, so nghttp2 forgets it at once.
    func endOfResponseSent(streamID: Int32) {
        guard let stream = streams[streamID], stream.resetAfterTrailers else { return }
        stream.resetAfterTrailers = false
        // A client that already ended its side has closed the stream with these trailers.
        guard !stream.inboundClosed else { return }
        resetStream(stream, errorCode: NGHTTP2_NO_ERROR.rawValue)
    }

    func resetStream(_ stream: GRPCStream, errorCode: UInt32) {
        guard let session else { return }
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, errorCode)
    }
}
