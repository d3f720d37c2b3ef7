import BinanceFeed
import Engine
import GRPCServer
import Indicators
import Prometheus
import Reactor
import MarketData

/// The Prometheus registry and every metric in it. Families are created at
/// startup, with every label value they will ever have, so a dashboard sees
/// each series (at 0) from the first scrape. `update` copies a snapshot into
/// the registry just before it is rendered; only the latency histogram is
/// fed between scrapes, once per flush pass.
final class MetricsCollector {
    let registry = PrometheusCollectorRegistry()

    private let feedState: [(FeedConnectionState, Gauge)]
    private var feedConnectionsOpened: CounterMirror
    private var feedReconnects: [(FeedEventCounts.ReconnectReason, CounterMirror)]
    private var feedMessages: CounterMirror
    private var feedSkipped: [(FeedEvent.SkipReason, CounterMirror)]
    private var feedMissing: [CounterMirror]
    private var feedDuplicates: CounterMirror
    private var backfill: BackfillMetrics
    private var klineFetch: KlineFetchMetrics
    private var feedSequencing: FeedSequencingMetrics
    private var protection: ProtectionMetrics
    private var operatorMetrics: OperatorMetrics
    private var rpcs: RPCMetrics

    private var tradesPublished: CounterMirror
    private let grpcConnections: Gauge
    private let grpcStreams: Gauge
    private let priceStreams: Gauge
    private let subscriptions: [(IndicatorKind, Gauge)]
    private var indicatorBatches: CounterMirror
    private let candleMemory: Gauge
    private let candleSubscriptions: Gauge
    private var candleBatches: CounterMirror
    private var candleLateTrades: CounterMirror
    private var candleHistoriesRefused: CounterMirror
    private var priceMessages: CounterMirror
    private var priceBytes: CounterMirror
    private var conflated: CounterMirror
    private var deferredBatches: CounterMirror
    private var slowConsumers: CounterMirror
    private var keepaliveEvents: [(KeepaliveEvent, CounterMirror)]
    private var writeIdle: CounterMirror
    private var holdWindowsAtArrival: CounterMirror
    private var holdWindowsAtBudget: CounterMirror
    private var holdWindowsEarly: CounterMirror
    private let latency: ValueHistogram

    private let phase: [(String, Gauge)]
    private let flushLingerEngaged: Gauge
    private var loopIterations: CounterMirror
    private var loopBusy: CounterMirror

    /// Seconds. Loopback flushes take tens of microseconds; a stalled loop, seconds.
    static let latencyBuckets: [Double] = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]

    init(symbols: SymbolTable) {
        let r = registry
        // Names are tickwire_<name>_<unit>; counters' unit ends in `total`.
        func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "tickwire", metricName: name, unitName: unit, helpText: help)
        }
        func counter(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> CounterMirror {
            CounterMirror(r.makeCounter(descriptor: named(name, unit, help), labels: labels))
        }
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            r.makeGauge(descriptor: named(name, unit, help), labels: labels)
        }
        feedState = FeedConnectionState.allCases.map {
            ($0, gauge("feed_connection_state", "", "1 for the live Binance feed's current state, 0 for the others (all 0 when replaying)", [("state", $0.rawValue)]))
        }
        feedConnectionsOpened = counter("feed_connections_opened", "total", "Binance WebSocket connections that completed their handshake")
        feedReconnects = FeedEventCounts.ReconnectReason.allCases.map {
            ($0, counter("feed_reconnects", "total", "New Binance connections by why: an attempt failed, a connection was lost, went stale, or was rotated as planned",
                         [("reason", $0.rawValue)]))
        }
        feedMessages = counter("feed_messages_received", "total", "Frames received from the feed (WebSocket messages, or replayed lines)")
        feedSkipped = FeedEvent.SkipReason.allCases.map {
            ($0, counter("feed_frames_skipped", "total", "Feed frames passed over, by why", [("reason", $0.rawValue)]))
        }
        feedMissing = symbols.lowerCased.map {
            counter("feed_missing_trades", "total", "Trade ids skipped by the feed (gaps), per symbol", [("symbol", $0)])
        }
        backfill = BackfillMetrics(registry: r)
        klineFetch = KlineFetchMetrics(registry: r)
        feedDuplicates = counter("feed_duplicates_dropped", "total", "Trades dropped because their id was already delivered (rotation overlap)")
        feedSequencing = FeedSequencingMetrics(registry: r, symbols: symbols)
        protection = ProtectionMetrics(registry: r)
        operatorMetrics = OperatorMetrics(registry: r, symbols: symbols)
        rpcs = RPCMetrics(registry: r)

        tradesPublished = counter("trades_published", "total", "Trades handed to the fan-out")
        grpcConnections = gauge("grpc_connections_open", "", "Open HTTP/2 connections")
        grpcStreams = gauge("grpc_streams_open", "", "Open gRPC calls, all methods")
        priceStreams = gauge("price_streams_open", "", "Open StreamPrices calls receiving prices")
        subscriptions = IndicatorKind.allCases.map {
            ($0, gauge("indicator_subscriptions", "", "Indicator subscriptions held by open streams, by indicator type", [("type", $0.metricLabel)]))
        }
        indicatorBatches = counter("indicator_batches_sent", "total", "IndicatorBatch messages sent")
        candleMemory = gauge("candle_memory", "bytes", "Memory allocated at startup for candles: every symbol × 13 intervals × --max-candle-history")
        candleSubscriptions = gauge("candle_subscriptions", "", "Candle subscriptions and indicators on candles held by open streams")
        candleBatches = counter("candle_batches_sent", "total", "CandleBatch messages and IndicatorBatches of indicators on candles sent")
        candleLateTrades = counter("candle_late_trades", "total", "Trades left out of a candle that had already closed (stamped before its end, arrived after the grace)")
        candleHistoriesRefused = counter("candle_histories_refused", "total", "Fetched kline histories refused because they disagreed with the candles built from trades")
        priceMessages = counter("price_messages_fanned_out", "total", "Price messages queued to streams (one per trade per stream)")
        priceBytes = counter("price_fanned_out", "bytes_total", "Bytes of those price messages, gRPC framing included")
        conflated = counter("conflated_trades", "total", "Trades a slow stream never received because a newer trade of the same symbol replaced them (--stream-soft-limit)")
        deferredBatches = counter("indicator_batches_deferred", "total", "IndicatorBatch messages (with new values) not sent because the stream was over --stream-soft-limit; its next batch carries the latest values")
        slowConsumers = counter("slow_consumer_disconnects", "total", "Streams ended with RESOURCE_EXHAUSTED because they, or their connection, fell too far behind")
        writeIdle = counter("write_idle_disconnects", "total", "Connections closed because they took none of their waiting output for --write-idle-timeout")
        let windowsHelp = "Per connection, --flush-linger windows that ended: at the arrival that filled them, at --flush-budget, or early, with urgent output"
        holdWindowsAtArrival = counter("flush_linger_windows", "total", windowsHelp, [("ended", "arrival")])
        holdWindowsAtBudget = counter("flush_linger_windows", "total", windowsHelp, [("ended", "budget")])
        holdWindowsEarly = counter("flush_linger_windows", "total", windowsHelp, [("ended", "early")])
        keepaliveEvents = KeepaliveEvent.allCases.map {
            ($0, counter("grpc_keepalive_events", "total", "Connections closed for an unanswered keepalive PING or too many client PINGs, or sent GOAWAY at --max-connection-age",
                         [("event", $0.rawValue)]))
        }
        latency = r.makeValueHistogram(descriptor: named("ingest_to_flush_latency", "seconds", "Per trade: from reading its frame (ingest_unix_nanos) to the end of the flush pass that first wrote it"),
                                       buckets: Self.latencyBuckets)

        phase = ShutdownPhase.metricLabels.map {
            ($0, gauge("shutdown_phase", "", "1 for the current shutdown phase", [("phase", $0)]))
        }
        loopIterations = counter("reactor_loop_iterations", "total", "Reactor loop iterations (poller waits)")
        loopBusy = counter("reactor_busy", "seconds_total", "Time the reactor spent working rather than waiting in the poller")
        flushLingerEngaged = gauge("flush_linger_engaged", "", "1 while queued prices may wait for --flush-linger's window (always with a fixed window; while the loop is busy with auto), else 0")
    }

    /// One latency observation, in nanoseconds (clamped at 0: the wall clock may step).
    func observeLatency(nanos: Int64) {
        latency.record(Double(max(0, nanos)) / 1e9)
    }

    func update(_ s: MetricsSnapshot) {
        for (state, gauge) in feedState { gauge.set(Int64(s.feedState == state ? 1 : 0)) }
        feedConnectionsOpened.follow(s.feedConnectionsOpened)
        for index in feedReconnects.indices { feedReconnects[index].1.follow(s.feedReconnects[feedReconnects[index].0] ?? 0) }
        feedMessages.follow(s.feedMessagesReceived)
        for index in feedSkipped.indices { feedSkipped[index].1.follow(s.feedFramesSkipped[feedSkipped[index].0] ?? 0) }
        for index in feedMissing.indices where index < s.feedMissingTrades.count { feedMissing[index].follow(s.feedMissingTrades[index]) }
        feedDuplicates.follow(s.feedDuplicatesDropped)
        backfill.update(s.backfill)
        klineFetch.update(s.klineFetch)
        feedSequencing.update(s)

        tradesPublished.follow(s.tradesPublished)
        grpcConnections.set(Int64(s.grpcConnections))
        grpcStreams.set(Int64(s.grpcStreams))
        priceStreams.set(Int64(s.priceStreams))
        for (kind, gauge) in subscriptions { gauge.set(Int64(s.subscriptions[kind] ?? 0)) }
        indicatorBatches.follow(s.indicatorBatches)
        candleMemory.set(Int64(s.candleMemoryBytes))
        candleSubscriptions.set(Int64(s.candleSubscriptions))
        candleBatches.follow(s.candleBatches)
        candleLateTrades.follow(s.candleLateTrades)
        candleHistoriesRefused.follow(s.candleHistoriesRefused)
        priceMessages.follow(s.priceMessages)
        priceBytes.follow(s.priceBytes)
        conflated.follow(s.conflatedTrades)
        deferredBatches.follow(s.deferredIndicatorBatches)
        slowConsumers.follow(s.slowConsumerDisconnects)
        for index in keepaliveEvents.indices { keepaliveEvents[index].1.follow(s.keepaliveEvents[keepaliveEvents[index].0] ?? 0) }
        writeIdle.follow(s.writeIdleDisconnects)
        holdWindowsAtArrival.follow(s.holdWindowsEnded.atArrival)
        holdWindowsAtBudget.follow(s.holdWindowsEnded.atBudget)
        holdWindowsEarly.follow(s.holdWindowsEnded.early)
        protection.update(s)
        operatorMetrics.update(s)
        rpcs.update(s.rpcs)

        for (label, gauge) in phase { gauge.set(Int64(s.phase.metricLabel == label ? 1 : 0)) }
        loopIterations.follow(s.loop.iterations)
        loopBusy.follow(nanos: s.loop.busyNanos)
        flushLingerEngaged.set(Int64(s.flushLingerEngaged ? 1 : 0))
    }

    /// The registry, then the feed lag histograms from the snapshot, which is
    /// not kept: holding FeedLag's arrays past the scrape would make the
    /// trade path's next write to them copy (allocate) them.
    func render(_ s: MetricsSnapshot, into buffer: inout [UInt8]) {
        registry.emit(into: &buffer)
        FeedLagExposition.render(s.feedLag, into: &buffer)
    }
}
