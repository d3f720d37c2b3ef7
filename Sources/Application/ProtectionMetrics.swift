import Prometheus

/// What the server's protections did to clients (issue 20): the memory
/// budget's holdings and cuts, calls refused at --max-streams, handshakes closed for taking too long or to
/// free a slot, and /metrics connections reclaimed for a new scrape. An
/// operator who sees clients cut reads here which bound did it. Split from
/// MetricsCollector to keep its initialiser short; the same naming rules apply.
struct ProtectionMetrics {
    private let budgetLimit: Gauge
    private let queuedBytes: Gauge
    private let outputBytes: Gauge
    private let inboundBytes: Gauge
    private let nghttp2Bytes: Gauge
    private var streamsCut: CounterMirror
    private var connectionsClosed: CounterMirror
    private var handshakesClosed: CounterMirror
    private var scrapesReclaimed: CounterMirror
    private let streamLimit: Gauge
    private var streamsRefused: CounterMirror

    init(registry r: PrometheusCollectorRegistry) {
        func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "tickwire", metricName: name, unitName: unit, helpText: help)
        }
        budgetLimit = r.makeGauge(descriptor: named("queued_budget", "bytes",
            "--max-queued-bytes: what queued messages, connection output buffers and partial requests may hold together"))
        queuedBytes = r.makeGauge(descriptor: named("queued", "bytes",
            "Bytes of messages queued on streams and not yet framed, all connections"))
        outputBytes = r.makeGauge(descriptor: named("connection_output_allocated", "bytes",
            "Bytes allocated by connection output buffers (framed, unsent output), all connections; counted in the budget"))
        inboundBytes = r.makeGauge(descriptor: named("request_partial_held", "bytes",
            "Bytes held for request messages still arriving, all streams; counted in the budget"))
        nghttp2Bytes = r.makeGauge(descriptor: named("nghttp2_allocated", "bytes",
            "Bytes libnghttp2 holds for every HTTP/2 session (malloc's usable sizes), all connections; not counted in the budget"))
        streamsCut = CounterMirror(r.makeCounter(descriptor: named("queued_budget_streams_ended", "total",
            "Streams ended with RESOURCE_EXHAUSTED because their backlog or partial request was among the largest when the queued-bytes budget was spent")))
        connectionsClosed = CounterMirror(r.makeCounter(descriptor: named("queued_budget_connections_closed", "total",
            "Connections closed because their unread output was among the largest holdings when the queued-bytes budget was spent")))
        handshakesClosed = CounterMirror(r.makeCounter(descriptor: named("grpc_handshakes_closed", "total",
            "gRPC connections closed before finishing their handshake: past --handshake-timeout, or to free a slot for a new connection")))
        scrapesReclaimed = CounterMirror(r.makeCounter(descriptor: named("metrics_connections_reclaimed", "total",
            "/metrics connections closed, idle or unfinished, to give their slot to a new scrape")))
        streamLimit = r.makeGauge(descriptor: named("max_streams", "",
            "--max-streams: open calls allowed on all connections together"))
        streamsRefused = CounterMirror(r.makeCounter(descriptor: named("grpc_calls_refused_at_max_streams", "total",
            "Calls refused with UNAVAILABLE because --max-streams calls were open")))
    }

    mutating func update(_ s: MetricsSnapshot) {
        budgetLimit.set(Int64(s.queuedBudgetBytes))
        queuedBytes.set(Int64(s.queuedBytes))
        outputBytes.set(Int64(s.outputAllocatedBytes))
        inboundBytes.set(Int64(s.inboundHeldBytes))
        nghttp2Bytes.set(Int64(s.nghttp2AllocatedBytes))
        streamsCut.follow(s.budgetStreamsEnded)
        connectionsClosed.follow(s.budgetConnectionsClosed)
        handshakesClosed.follow(s.handshakesClosed)
        scrapesReclaimed.follow(s.scrapeConnectionsReclaimed)
        streamLimit.set(Int64(s.maxStreams))
        streamsRefused.follow(s.streamsRefused)
    }
}
