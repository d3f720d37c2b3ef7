import Reactor

/// What the `--workers` supervisor needs, decided by the command line.
public struct SupervisorSettings: Sendable {
    /// N worker processes.
    public var workerCount: Int
    /// The gRPC address every worker shares (port 0: resolved once, here).
    public var listen: ListenAddress
    /// The configured /metrics address; worker i serves port + i (see metricsAddress).
    public var metricsListen: ListenAddress?
    /// The effective arguments (environment folded in) without WorkerArguments.replaced.
    public var workerArguments: [String]
    /// Our environment; the workers get it minus WorkerEnvironment.reservedVariables.
    public var environment: [String: String]
    /// argv[0] for the workers, as we were called.
    public var argv0: String
    /// Our own binary, even if the file was replaced on disk since we started.
    public var executablePath = "/proc/self/exe"
    /// After the first forwarded signal, how long the workers get before they
    /// are killed: their drain and stop flush plus a margin.
    public var stopBudgetNanos: Int64
    public var restart = WorkerRestartPolicy()

    public init(workerCount: Int, listen: ListenAddress, metricsListen: ListenAddress?, workerArguments: [String],
                environment: [String: String], argv0: String, stopBudgetNanos: Int64) {
        self.workerCount = workerCount
        self.listen = listen
        self.metricsListen = metricsListen
        self.workerArguments = workerArguments
        self.environment = environment
        self.argv0 = argv0
        self.stopBudgetNanos = stopBudgetNanos
    }

    /// Worker i's `--metrics-listen`: the configured port + i, so each worker
    /// is scraped as its own target (the metrics are per process and a
    /// shared, SO_REUSEPORT metrics port would answer from a random worker);
    /// port 0 stays 0 (each worker logs its own); off stays off.
    public func metricsAddress(worker index: Int) -> String {
        guard let metricsListen else { return "off" }
        guard metricsListen.port != 0 else { return "\(metricsListen)" }
        return "\(ListenAddress(host: metricsListen.host, port: metricsListen.port + UInt16(index)))"
    }

    /// How the `listening` line describes the metrics ports.
    var metricsSummary: String {
        guard let metricsListen else { return "off" }
        guard metricsListen.port != 0 else { return "\(metricsListen) (a free port per worker)" }
        return "\(metricsListen)+worker"
    }

    /// Worker i's arguments after argv[0].
    func arguments(worker index: Int, listen resolved: ListenAddress) -> [String] {
        workerArguments + ["--listen=\(resolved)", "--metrics-listen=\(metricsAddress(worker: index))"]
    }
}
