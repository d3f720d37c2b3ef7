/// Where the opening handshake stands after the latest response bytes.
public enum HandshakeProgress: Equatable, Sendable {
    /// The response header is not complete yet; read more.
    case needMore
    /// The server switched protocols; `leftover` already belongs to WebSocket frames.
    case accepted(leftover: [UInt8])
    /// The server refused, or answered with something that is not a valid upgrade.
    case rejected(HandshakeRejection)
}

/// Why the server's response did not open a WebSocket, with what a reconnect policy needs.
public struct HandshakeRejection: Equatable, Sendable, CustomStringConvertible {
    /// The HTTP status, or nil when the response was not HTTP at all.
    public var statusCode: Int?
    /// A reason a person can read, e.g. "HTTP 503 Service Unavailable".
    public var reason: String
    /// Retry-After in delta-seconds; nil when absent or given as an HTTP-date.
    public var retryAfterSeconds: Int?

    public init(statusCode: Int?, reason: String, retryAfterSeconds: Int? = nil) {
        self.statusCode = statusCode
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        guard let retryAfterSeconds else { return reason }
        return "\(reason) (retry after \(retryAfterSeconds) s)"
    }
}
