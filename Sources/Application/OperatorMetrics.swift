import Engine
import MarketData
import Prometheus
import Reactor

/// What an operator looks for first (issue 21): the build, the process's
/// resources as every Prometheus client library exports them, connections
/// accepted and refused, and whether the feed is on time — each symbol's
/// newest trade and where a replay is. Split from MetricsCollector to keep
/// its initialiser short; the same naming rules apply. The feed lag
/// histograms are rendered by FeedLagExposition.
struct OperatorMetrics {
    private var cpu: CounterMirror
    private let resident: Gauge
    private let virtual: Gauge
    private let openDescriptors: Gauge
    private let maxDescriptors: Gauge
    private let startTime: Gauge

    private var accepted: CounterMirror
    private var refusedAtLimit: CounterMirror
    private var refusedSetupFailed: CounterMirror
    private let connectionLimit: Gauge

    private let lastTradeTime: [Gauge]
    private let replayProgress: Gauge
    private var replayPasses: CounterMirror
    private let replayFinished: Gauge

    init(registry r: PrometheusCollectorRegistry, symbols: SymbolTable) {
        func named(_ namespace: String, _ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: namespace, metricName: name, unitName: unit, helpText: help)
        }
        // Set once: its value is 1, its labels are the point.
        r.makeGauge(descriptor: named("tickwire", "build", "info", "Always 1; the version label is this binary's"),
                    labels: [("version", TickwireVersion.current)]).set(Int64(1))

        cpu = CounterMirror(r.makeCounter(descriptor: named("process", "cpu", "seconds_total", "Total user and system CPU time spent in seconds.")))
        resident = r.makeGauge(descriptor: named("process", "resident_memory", "bytes", "Resident memory size in bytes."))
        virtual = r.makeGauge(descriptor: named("process", "virtual_memory", "bytes", "Virtual memory size in bytes."))
        openDescriptors = r.makeGauge(descriptor: named("process", "open", "fds", "Number of open file descriptors."))
        maxDescriptors = r.makeGauge(descriptor: named("process", "max", "fds", "Maximum number of open file descriptors."))
        startTime = r.makeGauge(descriptor: named("process", "start_time", "seconds", "Start time of the process since unix epoch in seconds."))

        accepted = CounterMirror(r.makeCounter(descriptor: named("tickwire", "grpc_connections_accepted", "total",
            "gRPC connections accepted and given a slot")))
        let refused = "gRPC connections closed on accept, by why: every slot taken (--max-connections), or their setup failed"
        refusedAtLimit = CounterMirror(r.makeCounter(descriptor: named("tickwire", "grpc_connections_refused", "total", refused),
                                                     labels: [("reason", "max_connections")]))
        refusedSetupFailed = CounterMirror(r.makeCounter(descriptor: named("tickwire", "grpc_connections_refused", "total", refused),
                                                         labels: [("reason", "setup_failed")]))
        connectionLimit = r.makeGauge(descriptor: named("tickwire", "max_connections", "", "--max-connections: connections held at once"))

        lastTradeTime = symbols.lowerCased.map {
            r.makeGauge(descriptor: named("tickwire", "feed_last_trade_time", "seconds",
                "Binance's trade time of the symbol's newest trade published, in Unix seconds (0 before the first)"),
                        labels: [("symbol", $0)])
        }
        replayProgress = r.makeGauge(descriptor: named("tickwire", "replay_progress", "ratio",
            "Share of the recording read in the current pass, 0 to 1 (0 without --replay)"))
        replayPasses = CounterMirror(r.makeCounter(descriptor: named("tickwire", "replay_passes_completed", "total",
            "Passes over the whole recording finished and started over (--replay-loop)")))
        replayFinished = r.makeGauge(descriptor: named("tickwire", "replay_finished", "",
            "1 once the recording has ended (without --replay-loop) and no more trades will come, else 0"))
    }

    mutating func update(_ s: MetricsSnapshot) {
        cpu.follow(nanos: Int64(s.process.cpuSeconds * 1e9))
        resident.set(Int64(s.process.residentBytes))
        virtual.set(Int64(s.process.virtualBytes))
        openDescriptors.set(Int64(s.process.openDescriptors))
        maxDescriptors.set(Int64(s.process.maxDescriptors))
        startTime.set(s.process.startTimeSeconds)

        accepted.follow(s.connectionsAccepted)
        refusedAtLimit.follow(s.connectionsRefusedAtLimit)
        refusedSetupFailed.follow(s.connectionsRefusedSetupFailed)
        connectionLimit.set(Int64(s.maxConnections))

        for index in lastTradeTime.indices where index < s.feedLag.lastTradeTimeMs.count {
            lastTradeTime[index].set(Double(s.feedLag.lastTradeTimeMs[index]) / 1000)
        }
        replayProgress.set(s.replayProgress)
        replayPasses.follow(s.replayPassesCompleted)
        replayFinished.set(Int64(s.replayFinished ? 1 : 0))
    }
}

/// `tickwire_feed_lag_seconds{time="event"|"trade"}`, written straight from
/// FeedLag's plain counts: the registry's histograms can only be recorded
/// into, and recording per trade would take the registry's lock on the trade
/// path, where FeedLag only bumps an integer.
enum FeedLagExposition {
    static let name = "tickwire_feed_lag_seconds"

    static func render(_ lag: FeedLag, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# HELP \(name) Per trade (backfilled ones excepted): from Binance's event time (time=event) or trade time (time=trade) to when Tickwire read its frame\n".utf8)
        buffer.append(contentsOf: "# TYPE \(name) histogram\n".utf8)
        render(lag.eventLag, label: "event", into: &buffer)
        render(lag.tradeLag, label: "trade", into: &buffer)
    }

    private static func render(_ histogram: FeedLag.Histogram, label: String, into buffer: inout [UInt8]) {
        var cumulative = 0
        for (index, count) in histogram.bucketCounts.enumerated() {
            cumulative += count
            let bound = index < FeedLag.bucketBoundsNanos.count ? "\(Double(FeedLag.bucketBoundsNanos[index]) / 1e9)" : "+Inf"
            buffer.append(contentsOf: "\(name)_bucket{time=\"\(label)\",le=\"\(bound)\"} \(cumulative)\n".utf8)
        }
        buffer.append(contentsOf: "\(name)_sum{time=\"\(label)\"} \(histogram.sumSeconds)\n".utf8)
        buffer.append(contentsOf: "\(name)_count{time=\"\(label)\"} \(histogram.count)\n".utf8)
    }
}
