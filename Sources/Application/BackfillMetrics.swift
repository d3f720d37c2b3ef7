import BinanceFeed
import MarketData
import Prometheus

/// The backfill's Prometheus series (issue 17), kept apart from the feed's.
/// Created at startup with every label value, so each series exists at 0.
struct BackfillMetrics {
    private var requests: CounterMirror
    private var trades: CounterMirror
    private var weightSpent: CounterMirror
    private let weightUsed: Gauge
    private var unrecoverable: [(TradeGap.Reason, CounterMirror)]
    private var unrecoverableTrades: CounterMirror
    private var holds: CounterMirror
    private var heldSeconds: CounterMirror
    private let heldMaxSeconds: Gauge

    init(registry r: PrometheusCollectorRegistry) {
        func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "tickwire", metricName: name, unitName: unit, helpText: help)
        }
        func counter(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> CounterMirror {
            CounterMirror(r.makeCounter(descriptor: named(name, unit, help), labels: labels))
        }
        requests = counter("backfill_requests", "total", "trades.historical requests sent to Binance's WebSocket API")
        trades = counter("backfill_trades", "total", "Missed trades fetched from Binance's history and delivered in order")
        weightSpent = counter("backfill_weight_spent", "total", "REQUEST_WEIGHT our backfill requests cost (25 each; 4 with --stream aggTrade)")
        weightUsed = r.makeGauge(descriptor: named("backfill_request_weight", "", "REQUEST_WEIGHT used in the current window, as the API last reported it (limit 6000 per minute per IP)"))
        unrecoverable = TradeGap.Reason.allCases.map {
            ($0, counter("unrecoverable_gaps", "total", "Gaps announced to every client as never to be delivered, by why", [("reason", $0.label)]))
        }
        unrecoverableTrades = counter("unrecoverable_trades", "total", "Trade ids in announced (unrecoverable) gaps")
        holds = counter("backfill_holds", "total", "Times a symbol's live trades were held behind a gap, then released")
        heldSeconds = counter("backfill_held", "seconds_total", "Time symbols' live trades were held behind gaps, summed over holds")
        heldMaxSeconds = r.makeGauge(descriptor: named("backfill_held_max", "seconds", "Longest a symbol's live trades were held behind a gap"))
    }

    mutating func update(_ s: BackfillStatistics?) {
        guard let s else { return }
        requests.follow(s.requests)
        trades.follow(s.tradesBackfilled)
        weightSpent.follow(s.weightSpent)
        weightUsed.set(Int64(s.weightUsed))
        for index in unrecoverable.indices { unrecoverable[index].1.follow(s.unrecoverableByReason[unrecoverable[index].0] ?? 0) }
        unrecoverableTrades.follow(s.unrecoverableTrades)
        holds.follow(s.holdsReleased)
        heldSeconds.follow(nanos: s.heldNanosTotal)
        heldMaxSeconds.set(Double(s.heldNanosMax) / 1e9)
    }
}
