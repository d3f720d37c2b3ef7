import BinanceFeed
import Prometheus

/// The warm-up kline fetches' Prometheus series (issue 18), beside the
/// backfill's, whose connection and weight they share. Created at startup,
/// so each series exists at 0.
struct KlineFetchMetrics {
    private var requests: CounterMirror
    private var fetched: CounterMirror
    private var failed: CounterMirror
    private var retries: CounterMirror
    private var klines: CounterMirror
    private var weightSpent: CounterMirror

    init(registry r: PrometheusCollectorRegistry) {
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> CounterMirror {
            CounterMirror(r.makeCounter(descriptor: MetricNameDescriptor(namespace: "tickwire", metricName: name,
                                                                         unitName: "total", helpText: help),
                                        labels: labels))
        }
        requests = counter("kline_requests", "klines requests sent to Binance's WebSocket API (retries included)")
        fetched = counter("kline_fetches", "Kline history fetches by outcome: fetched (handed to the sink) or failed (given up)", [("outcome", "fetched")])
        failed = counter("kline_fetches", "Kline history fetches by outcome: fetched (handed to the sink) or failed (given up)", [("outcome", "failed")])
        retries = counter("kline_fetch_retries", "Kline fetch tries that failed and were queued again (429/418, 5xx, unreadable, connection lost)")
        klines = counter("klines_fetched", "Klines received from Binance's history")
        weightSpent = counter("kline_weight_spent", "REQUEST_WEIGHT the klines requests cost (2 each)")
    }

    mutating func update(_ s: KlineFetchStatistics?) {
        guard let s else { return }
        requests.follow(s.requests)
        fetched.follow(s.fetched)
        failed.follow(s.failed)
        retries.follow(s.retries)
        klines.follow(s.klinesReceived)
        weightSpent.follow(s.weightSpent)
    }
}
