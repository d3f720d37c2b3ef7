import ArgumentParser
import Application
import Foundation
import Logging
import Reactor
import Supervisor

/// `--workers`: checking the flag, and running the supervisor instead of a server.
extension TickwireCommand {
    /// Margin past a worker's own drain and stop flush before the supervisor kills it.
    static let workerStopMarginNanos: Int64 = 3_000_000_000

    func validateWorkers() throws {
        guard let count = WorkerCount.parse(workers) else {
            throw ValidationError("--workers '\(workers)' must be a number from 1 to \(WorkerCount.maximum) or 'auto'")
        }
        // Worker i serves /metrics on the configured port + i: every one must exist.
        if count > 1, let metrics = try makeConfiguration().metricsListen, metrics.port != 0,
           Int(metrics.port) + count - 1 > Int(UInt16.max) {
            throw ValidationError("--metrics-listen port \(metrics.port) + \(count - 1) workers passes 65535")
        }
    }

    /// Runs the supervisor for `count` workers; returns its exit status.
    func superviseWorkers(count: Int, configuration: ServerConfiguration, logger: Logger) throws -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        // The arguments as the workers must see them: the environment folded
        // in exactly as main.swift does, then the per-worker options removed.
        let effective = EnvironmentDefaults.apply(
            to: Array(CommandLine.arguments.dropFirst()), options: Self.environmentOptions,
            flags: Self.environmentFlags, environment: environment)
        let settings = SupervisorSettings(
            workerCount: count, listen: configuration.listen, metricsListen: configuration.metricsListen,
            workerArguments: WorkerArguments.removing(WorkerArguments.replaced, from: effective),
            environment: environment, argv0: CommandLine.arguments.first ?? "tickwire",
            stopBudgetNanos: configuration.drainNanos + configuration.stopFlushNanos + Self.workerStopMarginNanos)
        do {
            let reactor = Reactor(backend: .epoll(try EpollPoller()))
            return try WorkerSupervisor(settings: settings, reactor: reactor, logger: logger).run()
        } catch {
            logger.critical("cannot start the workers", metadata: ["error": "\(error)"])
            return 1
        }
    }
}
