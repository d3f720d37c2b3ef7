import BinanceFeed
import GRPCServer
import Reactor
import MarketData
import Engine

/// Everything the server needs to know, validated before anything starts.
public struct ServerConfiguration: Sendable {
    public var listen = ListenAddress(host: "0.0.0.0", port: 50051)
    /// Bind `listen` with SO_REUSEPORT: set in a `--workers` worker, whose
    /// siblings listen on the same address.
    public var listenReusePort = false
    /// Where Prometheus scrapes `/metrics` (--metrics-listen); nil turns the endpoint off.
    public var metricsListen: ListenAddress? = ListenAddress(host: "0.0.0.0", port: 20051)
    public var symbols: SymbolTable
    /// A recording to play instead of the live feed.
    public var replayPath: String?
    public var replaySpeed: ReplaySpeed = .paced(1)
    /// Start the recording over at its end (`--replay-loop`).
    public var replayLoops = false
    /// The live Binance connection; nil when replaying.
    public var liveFeed: LiveFeedSettings?
    /// Gap repair from Binance's WebSocket API; nil when off (or replaying).
    public var backfill: BackfillSettings?
    /// TLS on the gRPC listener; nil serves h2c.
    public var grpcTLS: GRPCTLSSettings?
    /// Hold the replay until this many StreamPrices streams are open.
    public var replayWaitStreams = 0
    public var grpc = GRPCLimits()
    public var indicators = IndicatorSettings()
    /// --max-candle-history, --candle-close-grace, and the candle clock.
    public var candles = CandleSettings()
    /// How long existing streams keep receiving after SIGTERM (--drain-timeout).
    public var drainNanos: Int64 = 5_000_000_000
    /// How long the stop phase may spend flushing trailers before it closes
    /// every socket regardless. Kept short: exit must come within drain + 1 s.
    public var stopFlushNanos: Int64 = 500_000_000
    /// How long the first GOAWAY waits for its PING's ACK before the final one.
    public var goAwayPingTimeoutNanos: Int64 = 1_000_000_000

    public var shutdownBudget: ShutdownPhase.Budget {
        ShutdownPhase.Budget(drainNanos: drainNanos, stopFlushNanos: stopFlushNanos)
    }
    /// Stream enqueues (trades × streams) one loop iteration may do before it
    /// lets timers, reads and flushes run.
    public var enqueueBudgetPerIteration = 16_384
    /// What one connection's write costs, in stream enqueues: the iteration's
    /// budget is at least this many per open connection (publishBudget).
    public var enqueuesPerConnectionWrite = 256
    /// In `--replay-speed max`, publish only while every stream's backlog is
    /// below this: half the soft limit, so a max-speed replay paces itself by
    /// its slowest reader instead of conflating its prices.
    public var maxSpeedBacklogBytes: Int { slowConsumers.softLimitBytes / 2 }
    public var slowConsumers = SlowConsumerPolicy()
    /// How long queued messages may wait so that several leave in one write
    /// (--flush-budget for auto, or a fixed --flush-linger; FlushLinger); 0
    /// writes every iteration.
    public var flushLingerNanos: Int64 = defaultFlushBudgetNanos
    /// The window applies only while the loop is busy (--flush-linger auto,
    /// the default).
    public var flushLingerFollowsLoad = true
    /// `--flush-budget`'s default, auto's window. Measured at mid, fan-out and
    /// colocated with budgets of 0.5, 1 and 2 ms (docs/performance.md).
    public static let defaultFlushBudgetNanos: Int64 = 1_000_000

    public init(symbols: SymbolTable) {
        self.symbols = symbols
    }
}

/// `--tls-cert`, `--tls-key` and, for mutual TLS, `--tls-client-ca`.
public struct GRPCTLSSettings: Sendable {
    public var certificateChainFile: String
    public var privateKeyFile: String
    public var clientCAFile: String?

    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
    }
}
