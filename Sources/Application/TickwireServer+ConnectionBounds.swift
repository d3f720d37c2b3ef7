import GRPCServer
import Reactor

/// The server's side of the per-connection bounds the gRPC layer enforces:
/// streams ended for their connection's total backlog leave the fan-out at
/// once.
extension TickwireServer {
    public func rpcTooSlow(_ stream: GRPCStream) {
        guard RPCMethod(rawValue: stream.handlerTag) == .streamPrices else { return }
        distributor.dropTooSlow(stream)
    }
}
