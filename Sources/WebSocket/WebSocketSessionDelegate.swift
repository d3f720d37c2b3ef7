/// Receives what a `WebSocketSession` read. Called only from inside
/// `WebSocketSession.receive()`, on the session's thread. The delegate may
/// queue frames (`sendText`, `sendPing`, `close`) from these calls; they leave
/// at the end of that same `receive()`. It must not call `receive()` or
/// `flush()` from them.
public protocol WebSocketSessionDelegate: AnyObject {
    /// A complete (reassembled if fragmented) text message. The buffer is valid only during the call.
    func webSocket(_ session: WebSocketSession, didReceiveText message: UnsafeRawBufferPointer)
    /// A complete binary message. The buffer is valid only during the call.
    func webSocket(_ session: WebSocketSession, didReceiveBinary message: UnsafeRawBufferPointer)
    /// Any frame at all started arriving (data, ping, pong, close): the liveness signal.
    func webSocketDidReceiveFrame(_ session: WebSocketSession)
    /// The peer sent a close frame (code 1005 when it carried none). The
    /// session has already queued its answering close.
    func webSocket(_ session: WebSocketSession, didReceiveClose code: UInt16, reason: String)
}

/// What a `receive()` or `flush()` call ended with.
public enum SessionIO: Equatable, Sendable {
    /// Everything possible was done; consult `wantsRead`, `wantsWrite` and `isFinished`.
    case ok
    /// The transport reached end of stream (EOF or TLS close_notify).
    case closed
    /// A protocol error by the peer, or a transport failure; the text says which.
    case failed(String)
}
