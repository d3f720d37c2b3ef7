import CNghttp2

/// The guards against abusive clients that nghttp2 does not apply, or
/// applies with a misleading answer (issue 20, items 1 and 6). Each one ends
/// the connection with a GOAWAY that names the fault and a warning that says
/// why; goAwayFrameSent then closes it once the GOAWAY is on the wire.
extension HTTP2Connection {
    /// Why nghttp2's input failed, when the failure is abuse that deserves
    /// ENHANCE_YOUR_CALM rather than a silent close; nil otherwise.
    func abuseReason(_ error: Int32) -> String? {
        // NGHTTP2_ERR_TOO_MANY_CONTINUATIONS, by value: unpatched 1.52 headers lack the name.
        let tooManyContinuations: Int32 = -905
        if error == tooManyContinuations {
            return "CONTINUATION flood: more than \(limits.maxContinuations) CONTINUATION frames in one header block"
        }
        if error == NGHTTP2_ERR_CALLBACK_FAILURE.rawValue && headerBudget.exploded {
            return "HPACK bomb: a header block decoded to \(headerBudget.decodedBytes) bytes from "
                + "\(headerBudget.wireBytes) on the wire (more than the header list limit plus "
                + "\(HeaderBlockBudget.bombRatio)x)"
        }
        return nil
    }

    /// After nghttp2 gave up on the input: our GOAWAY, then the close the
    /// failed phase makes after the flush (nghttp2 sends none itself).
    func calmDownAfterFailedInput(_ reason: String) {
        guard let session else { return }
        hub.log(.warning, "HTTP/2 flood; closing the connection", ["slot": "\(token.slot)", "peer": peer, "error": reason])
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue),
                                  nghttp2_session_get_last_proc_stream_id(session),
                                  NGHTTP2_ENHANCE_YOUR_CALM.rawValue, nil, 0)
        failInsideSession(reason)
    }

    /// A HEADERS frame header arrived (before its payload is decoded).
    func headersFrameBegan(streamID: Int32, payloadBytes: Int) {
        headerBudget.blockStarted(payloadBytes: payloadBytes)
        guard !streamOrder.headersBegan(streamID: streamID), let session else { return }
        hub.log(.warning, "HEADERS on a stream id the client skipped; GOAWAY PROTOCOL_ERROR", [
            "slot": "\(token.slot)", "peer": peer, "stream": "\(streamID)", "highest_stream": "\(streamOrder.highestID)",
        ])
        _ = nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR.rawValue)
    }

    /// A RST_STREAM arrived from the client: past the Rapid Reset rate, GOAWAY.
    func clientResetStream() {
        guard resetRate.resetReceived(atNanos: hub.monotonicNanos) == false, !calmRequested,
              let session else { return }
        calmRequested = true
        hub.log(.warning, "rapid reset: RST_STREAM over the limit; GOAWAY ENHANCE_YOUR_CALM", [
            "slot": "\(token.slot)", "peer": peer,
            "limit": "\(resetRate.burst) burst, \(resetRate.perSecond)/s",
        ])
        _ = nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
    }
}
