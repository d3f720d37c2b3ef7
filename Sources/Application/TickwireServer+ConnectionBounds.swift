import GRPCServer
import Reactor

/// The server's side of the per-connection bounds the gRPC layer enforces:
/// streams ended for their connection's total backlog leave the fan-out at
/// once, and the write-idle sweep runs on its own periodic timer.
extension TickwireServer {
    public func rpcTooSlow(_ stream: GRPCStream) {
        guard RPCMethod(rawValue: stream.handlerTag) == .streamPrices else { return }
        distributor.dropTooSlow(stream)
    }

    /// Arms the first write-idle sweep (none when --write-idle-timeout is 0).
    func startWriteIdleSweep() {
        guard let interval = hub.writeIdleSweepIntervalNanos else { return }
        reactor.schedule(afterNanos: interval, tag: TimerTag.writeIdleSweep.rawValue)
    }

    func writeIdleSweepDue() {
        guard let interval = hub.writeIdleSweepIntervalNanos else { return }
        hub.sweepWriteIdle(nowNanos: reactor.clock.monotonicNanos())
        reactor.schedule(afterNanos: interval, tag: TimerTag.writeIdleSweep.rawValue)
    }
}
