import MarketData
import Prometheus

/// What the trade sequencer made of the feed's ids, per symbol: implausible
/// ids held as suspect, outliers dropped, sequence resets accepted, late
/// trades that filled a gap, and symbols cut off. Split from MetricsCollector
/// to keep its initialiser short; the same naming rules apply.
struct FeedSequencingMetrics {
    private var lateTrades: CounterMirror
    private var suspects: [CounterMirror]
    private var outliers: [CounterMirror]
    private var resets: [CounterMirror]
    private let cutOff: [Gauge]

    init(registry r: PrometheusCollectorRegistry, symbols: SymbolTable) {
        func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "tickwire", metricName: name, unitName: unit, helpText: help)
        }
        func perSymbol(_ name: String, _ help: String) -> [CounterMirror] {
            symbols.lowerCased.map {
                CounterMirror(r.makeCounter(descriptor: named(name, "total", help), labels: [("symbol", $0)]))
            }
        }
        lateTrades = CounterMirror(r.makeCounter(descriptor: named("feed_late_trades", "total",
            "Trades older than the last delivered that filled an open gap (delivered once, late)")))
        suspects = perSymbol("feed_suspect_trade_ids",
            "Implausible trade ids (a jump past 50000, or back in time) held until the next trade decides, per symbol")
        outliers = perSymbol("feed_outliers_dropped", "Suspect trades dropped because the old sequence went on, per symbol")
        resets = perSymbol("feed_sequence_resets", "Suspect trades accepted as a new id sequence that the next trade continued, per symbol")
        cutOff = symbols.lowerCased.map {
            r.makeGauge(descriptor: named("feed_symbol_cut_off", "",
                "1 while every trade of the symbol has been dropped for 5 s or more, else 0"), labels: [("symbol", $0)])
        }
    }

    mutating func update(_ s: MetricsSnapshot) {
        lateTrades.follow(s.feedLateTrades)
        for index in suspects.indices where index < s.feedSuspectIDs.count { suspects[index].follow(s.feedSuspectIDs[index]) }
        for index in outliers.indices where index < s.feedOutliersDropped.count { outliers[index].follow(s.feedOutliersDropped[index]) }
        for index in resets.indices where index < s.feedSequenceResets.count { resets[index].follow(s.feedSequenceResets[index]) }
        for index in cutOff.indices where index < s.feedSymbolCutOff.count { cutOff[index].set(Int64(s.feedSymbolCutOff[index] ? 1 : 0)) }
    }
}
