import Application
import ArgumentParser
import Foundation
import GRPCServer
import Logging
import Supervisor

/// --connection-hard-limit, --write-idle-timeout, --max-queued-bytes and
/// --max-streams: what one connection may hold queued, how long it may hold
/// output without taking any, and what all of them may hold together.
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
        let plan = memoryPlan()
        // Below the soft limit one lagging stream would spend the whole budget before it is conflated.
        guard plan.queuedBytes >= streamSoftLimit else {
            throw ValidationError("--max-queued-bytes (\(plan.queuedBytes), \(plan.queuedSource)) must be at least --stream-soft-limit (\(streamSoftLimit))")
        }
        guard plan.maxStreams >= 1 else { throw ValidationError("--max-streams must be at least 1") }
        guard (0...(1 << 30)).contains(socketSendBuffer) else {
            throw ValidationError("--socket-send-buffer '\(socketSendBuffer)' must be from 0 (the kernel's autotuning) to 1073741824 bytes")
        }
        limits.socketSendBufferBytes = socketSendBuffer
        limits.maxQueuedBytes = plan.queuedBytes
        limits.maxStreams = plan.maxStreams
    }

    /// The memory limit's split into the queued-bytes budget and the stream
    /// limit (MemoryPlan), with this process's share when it is one of the
    /// --workers.
    func memoryPlan() -> MemoryPlan {
        let workers = WorkerEnvironment(environment: ProcessInfo.processInfo.environment)?.count ?? 1
        let cgroup = MemoryPlan.cgroupLimit { try? String(contentsOfFile: $0, encoding: .utf8) }
        return MemoryPlan.resolve(cgroupLimit: cgroup, workers: workers, queuedFlag: maxQueuedBytes,
                                  streamsFlag: maxStreams, maxConnections: maxConnections,
                                  maxConcurrentStreams: Int(maxConcurrentStreams))
    }

    func logMemoryPlan(_ logger: Logger) {
        let plan = memoryPlan()
        logger.info("queued-bytes budget", metadata: ["bytes": "\(plan.queuedBytes)", "source": "\(plan.queuedSource)"])
        logger.info("stream limit", metadata: ["max_streams": "\(plan.maxStreams)", "source": "\(plan.maxStreamsSource)"])
        if !plan.connectionsFit {
            logger.warning("the memory limit cannot hold --max-connections connections next to the queued-bytes budget; lower --max-connections or --max-queued-bytes, or raise the limit", metadata: [
                "memory_bytes": "\(plan.processLimitBytes)", "memory_source": "\(plan.limitSource)",
                "max_connections": "\(maxConnections)", "connection_bytes": "\(MemoryPlan.connectionBytes)",
                "queued_budget_bytes": "\(plan.queuedBytes)",
            ])
        }
    }
}
