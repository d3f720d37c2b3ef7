import ArgumentParser
import GRPCServer

/// --connection-hard-limit, --write-idle-timeout and --max-queued-bytes: what
/// one connection may hold queued, how long it may hold output without taking
/// any, and what all of them may hold together.
extension TickwireCommand {
    func applyConnectionBounds(to limits: inout GRPCLimits) throws {
        // Four streams at their hard limit: raising the per-stream bounds
        // raises the default with them instead of tripping the check below.
        let connectionLimit = connectionHardLimit ?? max(16 * 1024 * 1024, 4 * streamHardLimit)
        // Below the soft limit a single stream would be cut before it is ever conflated.
        guard connectionLimit >= streamSoftLimit else {
            throw ValidationError("--connection-hard-limit must be at least --stream-soft-limit (\(streamSoftLimit))")
        }
        limits.maxConnectionBacklogBytes = connectionLimit
        guard let idle = GoDuration(parsing: writeIdleTimeout),
              idle.nanoseconds == 0 || idle.nanoseconds >= 100_000_000 else {
            throw ValidationError("--write-idle-timeout '\(writeIdleTimeout)' must be 0 (off) or a duration of at least 100ms, such as 30s")
        }
        limits.writeIdleTimeoutNanos = idle.nanoseconds
        let budget = QueuedBytesBudget.resolve(flag: maxQueuedBytes)
        // Below the soft limit one lagging stream would spend the whole budget before it is conflated.
        guard budget.bytes >= streamSoftLimit else {
            throw ValidationError("--max-queued-bytes (\(budget.bytes), \(budget.source)) must be at least --stream-soft-limit (\(streamSoftLimit))")
        }
        limits.maxQueuedBytes = budget.bytes
    }
}
