/// What became of one message queued on a client's stream. It lives below
/// both the gRPC layer and the engine, so the engine can queue on a stream
/// without importing the transport that carries it.
public enum StreamSendOutcome: Equatable, Sendable {
    /// Behind the stream's earlier messages, bytes shared, not copied.
    case queued
    /// The stream is finishing or gone; the message was dropped.
    case notOpen
    /// The client reads too slowly: the backlog limit was hit and the
    /// stream was ended with RESOURCE_EXHAUSTED.
    case overflowed
}
