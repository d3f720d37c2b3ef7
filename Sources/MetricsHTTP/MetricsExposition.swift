/// Whatever renders the metrics. The endpoint only moves bytes; it calls
/// this once per `GET /metrics`, on the reactor thread.
public protocol MetricsExposition: AnyObject {
    /// Appends the whole exposition (text format 0.0.4) to `buffer`.
    func renderMetrics(into buffer: inout [UInt8])
}
