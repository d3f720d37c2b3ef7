import ArgumentParser
import GRPCServer

/// --connection-hard-limit: what one connection may hold queued.
extension TickwireCommand {
    func applyConnectionBounds(to limits: inout GRPCLimits) throws {
        // Below the soft limit a single stream would be cut before it is ever conflated.
        guard connectionHardLimit >= streamSoftLimit else {
            throw ValidationError("--connection-hard-limit must be at least --stream-soft-limit (\(streamSoftLimit))")
        }
        limits.maxConnectionBacklogBytes = connectionHardLimit
    }
}
