import Engine
import GRPCServer

/// The engine queues prices and indicator batches on gRPC streams. GRPCStream
/// already has the shape `ClientStream` asks for; the conformance lives here,
/// where both layers meet, so neither has to know the other.
extension GRPCStream: ClientStream {}
