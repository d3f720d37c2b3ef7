// The WebSocket client layer: RFC 6455 handshake and wslay framing over any byte transport.

/// Result of one transport call.
public enum TransportIO: Equatable, Sendable {
    /// More than zero bytes were read or written.
    case transferred(Int)
    /// Nothing moved; try again when the reactor says the socket is ready.
    case wouldBlock
    /// Orderly end of stream (TLS close_notify or EOF).
    case closed
    /// The stream broke; the text is a reason a person can read.
    case failed(String)
}

/// The byte stream under the WebSocket (the TLS connection in production).
///
/// Contract, because wslay resumes a half-sent frame by offering the same bytes
/// again: after `write` returned `.wouldBlock`, the next `write` carries the
/// same bytes, though possibly from a different address (masked payloads are
/// re-masked into a stack buffer). An OpenSSL transport therefore needs
/// `SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`.
public protocol WebSocketTransport: AnyObject {
    /// Reads at most `buffer.count` bytes; `.transferred(n)` has 0 < n <= buffer.count.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportIO
    /// Writes a prefix of `bytes`; `.transferred(n)` has 0 < n <= bytes.count.
    func write(_ bytes: UnsafeRawBufferPointer) -> TransportIO
}
