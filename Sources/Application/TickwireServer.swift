import BinanceFeed
import Candles
import GRPCServer
import Logging
import MetricsHTTP
import Reactor
import SwiftProtobuf
import TickwireProto
import TLS
import Engine

/// The composition root of the running server: it owns the reactor's handler
/// role, the connection hub, the price distributor, the health service and the
/// feed, and carries the server through its ShutdownPhase.
public final class TickwireServer: ReactorHandler {
    /// Where the replay is.
    enum ReplayState: Equatable {
        /// Waiting for `--replay-wait-streams` streams to open.
        case waitingForStreams
        /// Trades are ready to publish now.
        case ready
        /// Sleeping until the next trade is due.
        case waiting
        /// The recording is over; streams stay open.
        case finished
    }

    /// True once a replay played to its end (never with --replay-loop, never
    /// live): clients get no more prices, though health stays SERVING.
    public var replayFinished: Bool { replayState == .finished }

    public let configuration: ServerConfiguration
    public let reactor: Reactor
    let logger: Logger
    let distributor: PriceDistributor<GRPCStream>
    let health = HealthService()
    let reflection = ReflectionService()
    var hub: ConnectionHub!
    let replay: ReplayFeed?
    /// The live Binance connection (nil when replaying).
    var liveFeed: LiveFeed<PriceDistributor<GRPCStream>>?
    var replayState: ReplayState
    /// --flush-linger's window (auto, at --flush-budget, unless configured).
    var flushLinger: FlushLinger
    /// FlushLinger's wake-up, moved as the earliest held window changes.
    var flushLingerTimer: TimerID?
    /// The /metrics endpoint and its registry (nil with --metrics-listen off).
    var metrics: MetricsEndpoint?
    var collector: MetricsCollector?
    /// Feed counters that come from events (reconnect reasons, gaps per symbol).
    var feedCounts: FeedEventCounts
    /// Accepted gRPC calls not yet closed, every method.
    var openCalls = 0
    /// Calls started and finished, by method and status, for the metrics.
    var rpcCounts = RPCCounts()
    /// When the next indicator batch is due; advanced by whole intervals so
    /// the cadence does not drift with the loop's own latency.
    var nextBatchNanos: Int64 = 0
    var batchCadence = BatchCadence()
    /// The engine's one deadline timer (StreamBounds), while armed.
    var streamBoundTimer: TimerID?
    /// Returns closed connections' memory to the kernel from the batch tick.
    var freedMemory = FreedMemoryReturn()
    /// Counts for the transition logs.
    struct DrainLedger {
        var signalWallMs: Int64 = 0
        var signalMonotonicNanos: Int64 = 0
        var streamsNotified = 0
        var streamsEndedByClients = 0
        var messagesQueuedAtStart = 0
    }
    var drain = DrainLedger()

    /// Throws a SystemError (the replay file, the listener), an
    /// UnusableRecording, or a TLSClientContext.ConfigurationError (the CA file).
    public init(configuration: ServerConfiguration, reactor: Reactor, logger: Logger) throws {
        self.configuration = configuration
        self.reactor = reactor
        self.logger = logger
        distributor = PriceDistributor(symbols: configuration.symbols,
                                       streamCapacity: Self.priceStreamCapacity(configuration.grpc),
                                       indicators: IndicatorService(symbols: configuration.symbols,
                                                                    settings: configuration.indicators),
                                       slowConsumers: configuration.slowConsumers,
                                       candles: CandleService(symbols: configuration.symbols,
                                                              settings: configuration.candles,
                                                              indicatorSettings: configuration.indicators))
        if let path = configuration.replayPath {
            let feed = try ReplayFeed(path: path, symbols: configuration.symbols, speed: configuration.replaySpeed,
                                      loops: configuration.replayLoops)
            try feed.requireATrade()
            replay = feed
        } else {
            replay = nil
        }
        replayState = configuration.replayWaitStreams > 0 ? .waitingForStreams : .ready
        flushLinger = FlushLinger(windowNanos: configuration.flushLingerNanos,
                                  followsLoad: configuration.flushLingerFollowsLoad)
        feedCounts = FeedEventCounts(symbols: configuration.symbols)
        if configuration.metricsListen != nil {
            metrics = MetricsEndpoint(reactor: reactor)
            collector = MetricsCollector(symbols: configuration.symbols)
            distributor.ingestTimes = IngestTimeLog(capacity: 1 << 16)
        }
        if let settings = configuration.liveFeed, replay == nil {
            liveFeed = try LiveFeed(settings: settings, symbols: configuration.symbols, reactor: reactor,
                                    sink: distributor, observer: self, backfill: configuration.backfill)
            // Fetched klines are checked against the candles built from trades before they join.
            liveFeed?.klineHistorySink = CandleHistoryIntake(candles: distributor.candles, symbols: configuration.symbols,
                                                             clock: reactor.clock, logger: logger)
            for name in configuration.backfill?.warmIntervals ?? [] {
                guard let interval = CandleInterval(binanceName: name) else { continue }
                for symbol in 0..<configuration.symbols.count {
                    distributor.candles.markHistoryRequested(symbol: symbol, interval: interval)
                }
            }
        }
        let tls = try configuration.grpcTLS.map { settings in
            try TLSServerContext(certificateChainFile: settings.certificateChainFile,
                                 privateKeyFile: settings.privateKeyFile, clientCAFile: settings.clientCAFile)
        }
        hub = ConnectionHub(reactor: reactor, limits: configuration.grpc, delegate: self,
                            tls: tls) { [logger] level, message, metadata in
            logger.log(level: level.swiftLogLevel, "\(message)", metadata: metadata.mapValues { .string($0) })
        }
        hub.messageHold.budgetNanos = max(1, configuration.flushLingerNanos)
    }

    /// Price streams the registry makes room for up front: every stream the
    /// limits admit (connections × streams per connection), up to 65,536; past
    /// that it grows as streams arrive rather than reserve memory few servers use.
    static func priceStreamCapacity(_ limits: GRPCLimits) -> Int {
        let admitted = limits.maxConnections.multipliedReportingOverflow(by: Int(limits.maxConcurrentStreams))
        return admitted.overflow ? 65_536 : min(admitted.partialValue, 65_536)
    }

    /// Address the listener bound (with the real port when 0 was asked for).
    public var boundAddress: ListenAddress? { hub.boundAddress }

    /// Listens, plays, and serves until a signal stops the server.
    /// `whenListening` runs once the `listening` line is logged (a worker
    /// tells its supervisor there).
    public func run(whenListening: () -> Void = {}) throws(SystemError) {
        do throws(SystemError) {
            try hub.listen(on: configuration.listen, reusePort: configuration.listenReusePort)
        } catch {
            throw error.within("gRPC listener (--listen)")
        }
        do throws(SystemError) {
            do throws(SystemError) { try startMetrics() } catch { throw error.within("metrics listener (--metrics-listen)") }
            try reactor.watchSignals()
        } catch {
            metrics?.close()
            hub.stopAccepting()
            throw error
        }
        logger.info("listening", metadata: [
            "address": "\(hub.boundAddress!)", "io": "\(reactor.backendName)", "busy_poll": "\(reactor.waitPolicy.logName)",
            "wait_resolution": reactor.backend.poller.waitsInNanoseconds ? "1ns" : "1ms",
            // How connections write: TLS always through SSL_write.
            "sends": configuration.grpcTLS != nil ? "SSL_write" : reactor.sendBatch == nil ? "sendmsg" : "io_uring",
            "tls": configuration.grpcTLS == nil ? "off" : "on",
            "mtls": configuration.grpcTLS?.clientCAFile == nil ? "off" : "on",
            "symbols": "\(configuration.symbols.upperCased.joined(separator: ","))",
        ])
        if let address = metrics?.boundAddress {
            logger.info("metrics listening", metadata: ["address": "\(address)"])
        }
        if flushLinger.windowNanos % 1_000_000 != 0, !reactor.backend.poller.waitsInNanoseconds {
            logger.warning("this kernel refuses epoll_pwait2: the flush window is kept only to the millisecond", metadata: [
                "window_ms": .string(Self.millisecondsText(flushLinger.windowNanos)),
                "next": "use --flush-budget in whole milliseconds, or --io io_uring, or --busy-poll",
            ])
        }
        whenListening()
        if let replay {
            logger.info("replay loaded", metadata: [
                "file": "\(replay.path)", "bytes": "\(replay.byteCount)", "speed": "\(replay.speed)", "loop": "\(replay.loops)",
                "wait_streams": "\(configuration.replayWaitStreams)",
            ])
        }
        if let liveFeed {
            logger.info("feed starting", metadata: [
                "url": "\(liveFeed.url)", "stale_timeout_ms": "\(liveFeed.settings.staleTimeoutNanos / 1_000_000)",
                "max_connection_age_s": "\(liveFeed.settings.maxConnectionAgeNanos / 1_000_000_000)",
            ])
            liveFeed.start()
        }
        nextBatchNanos = reactor.clock.monotonicNanos() + configuration.indicators.intervalNanos
        reactor.schedule(atNanos: nextBatchNanos, ServerTimer.indicatorBatch.token)
        reactor.schedule(atNanos: nextBatchNanos, ServerTimer.candleClose.token)
        logger.info("candles", metadata: [
            "intervals": "13", "max_candle_history": "\(configuration.candles.historyCapacity)",
            "close_grace_ms": "\(configuration.candles.closeGraceMs)", "bytes": "\(distributor.candles.memoryBytes)",
            "clock": "\(configuration.candles.clock)",
        ])
        try reactor.run(self)
        reactor.close()
        var metadata: Logger.Metadata = [
            "trades_published": "\(distributor.tradesPublished)",
            "slow_streams_reset": "\(distributor.slowStreamsDropped)",
            "write_idle_closed": "\(hub.writeIdleClosed)",
            "conflated_trades": "\(distributor.conflatedTrades)",
            "indicator_batches_deferred": "\(distributor.indicators.batchesDeferred)",
            "indicator_batches_sent": "\(distributor.indicators.batchesSent)",
            // Sent minus encoded: the encodes saved by sharing equal batches.
            "indicator_batches_encoded": "\(distributor.indicators.batchesEncoded)",
            "candle_batches_sent": "\(distributor.candles.batchesSent)",
            "candle_batches_encoded": "\(distributor.candles.batchesEncoded)",
            "batch_rounds": "\(batchCadence.rounds)",
        ]
        if let stats = liveFeed?.statistics {
            metadata["feed_trades"] = "\(stats.tradesPublished)"
            metadata["feed_gap_trades"] = "\(stats.gapTrades)"
            metadata["feed_duplicates_dropped"] = "\(stats.duplicatesDropped)"
            metadata["feed_skipped_frames"] = "\(stats.skippedFrames)"
            metadata["feed_connections_opened"] = "\(stats.connectionsOpened)"
        }
        if let cadence = batchCadence.summaryMs() {
            metadata["batch_interval_p50_ms"] = "\(cadence.p50)"
            metadata["batch_interval_p99_ms"] = "\(cadence.p99)"
            metadata["batch_interval_max_ms"] = "\(cadence.max)"
        }
        logger.info("stopped", metadata: metadata)
    }

    // MARK: ReactorHandler

    public func handle(_ event: ReadyEvent, reactor: Reactor) {
        switch event.token.kind {
        case .listener: hub.listenerReady()
        case .connection: hub.connectionReady(event)
        case .feed: liveFeed?.handle(event)
        case .metricsListener: metrics?.listenerReady(exposition: self)
        case .metricsConnection: metrics?.connectionReady(event, exposition: self)
        case .signal, .workerReady, .resolver: assertionFailure("no handler for \(event.token)")
        }
    }

    public func signalReceived(_ signal: Int32, reactor: Reactor) {
        logger.notice("signal received", metadata: ["signal": "\(signal)", "phase": "\(reactor.phase)"])
        apply(reactor.phase.signalReceived(nowNanos: reactor.clock.monotonicNanos(),
                                           budget: configuration.shutdownBudget))
    }

    public func beforeSleep(reactor: Reactor) -> Bool {
        let busy = driveReplay()
        let holding = flushOnce()
        checkDrainComplete()
        if reactor.phase.isStopping, stopFlushComplete {
            apply(reactor.phase.flushEnded())
        }
        // Asked after the drain check: starting to stop queues trailers and
        // GOAWAYs that must go out now, not at the next event. What lingers
        // waits for its timer.
        return busy || (holding ? hub.hasUrgentFlush : hub.hasPendingFlush)
    }

    /// `--flush-linger auto`: engages, stretches or releases the window by the loop's load.
    func sampleLoadForLinger(nowNanos: Int64) {
        let wasEngaged = flushLinger.engaged
        guard let share = flushLinger.observeLoad(busyNanos: reactor.loopStatistics.busyNanos, nowNanos: nowNanos) else {
            return
        }
        hub.messageHold.budgetNanos = max(1, flushLinger.windowInEffectNanos)
        let busy = "\(Int((share * 100).rounded()))%"
        let window = Self.millisecondsText(flushLinger.windowInEffectNanos)
        if flushLinger.engaged && !wasEngaged {
            logger.info("loop busy; prices now wait up to the linger window to share writes", metadata: [
                "busy": .string(busy), "window_ms": .string(window),
            ])
        } else if flushLinger.engaged {
            logger.info(flushLinger.stretched ? "loop still busy while lingering; the linger window is half as long again"
                                              : "loop has headroom again; the linger window is back to --flush-budget",
                        metadata: ["busy": .string(busy), "window_ms": .string(window)])
        } else {
            logger.info("loop quiet again; prices are written every iteration", metadata: ["busy": .string(busy)])
        }
    }

    /// Whole milliseconds as an integer ("1"), a fraction as a decimal ("0.5").
    static func millisecondsText(_ nanos: Int64) -> String {
        nanos % 1_000_000 == 0 ? "\(nanos / 1_000_000)" : "\(Double(nanos) / 1_000_000)"
    }

    /// This iteration's flush, or with --flush-linger only what cannot wait
    /// and the connections whose windows end now. Returns true when messages
    /// were held back for a later iteration.
    private func flushOnce() -> Bool {
        guard flushLinger.holds(stopping: reactor.phase.isStopping) else {
            hub.flushPending()
            observeFlushedTrades()
            return false
        }
        let deadline = hub.flushPending(holdingMessages: true)
        if hub.lastPassWrote { observeFlushedTrades() }
        // Exact: a budget below a millisecond must not wait for the next one.
        if let wakeAt = flushLinger.wakeUp(forDeadline: deadline) {
            if let armed = flushLingerTimer { reactor.cancel(armed) }
            flushLingerTimer = reactor.schedule(atNanos: wakeAt, ServerTimer.flushLinger.token, precision: .exact)
        }
        return deadline != nil
    }
}

extension ConnectionHub.LogLevel {
    var swiftLogLevel: Logger.Level {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .warning: return .warning
        case .error: return .error
        }
    }
}
