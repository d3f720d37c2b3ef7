/// What the keepalive machinery did to a connection, counted for the metrics
/// (`tickwire_grpc_keepalive_events_total{event}`).
public enum KeepaliveEvent: String, CaseIterable, Sendable {
    /// A silent peer did not answer its keepalive PING; closed.
    case keepaliveTimeout = "keepalive_timeout"
    /// A client pinged too often; GOAWAY(ENHANCE_YOUR_CALM) and closed.
    case tooManyPings = "too_many_pings"
    /// A connection reached --max-connection-age; GOAWAY.
    case maxConnectionAge = "max_connection_age"
}
