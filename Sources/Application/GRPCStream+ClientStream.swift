import Engine
import GRPCServer

/// The engine queues prices and indicator batches on gRPC streams. GRPCStream
/// already has the shape `ClientStream` asks for; the conformance lives here,
/// where both layers meet, so neither has to know the other.
extension GRPCStream: ClientStream {
    /// Streams of one HTTP/2 connection share its per-client limits. The
    /// connection outlives its streams, so the identifier is not reused
    /// while any of them is registered.
    public var connectionKey: ObjectIdentifier { ObjectIdentifier(connection) }
}
