import Prometheus

/// A Prometheus counter that follows a running total kept elsewhere as a
/// plain integer. The hot paths bump their own integers; at scrape time the
/// counter grows by whatever the total grew since the previous scrape.
struct CounterMirror {
    let counter: Counter
    private var last: Int64 = 0

    init(_ counter: Counter) {
        self.counter = counter
    }

    mutating func follow(_ total: Int) {
        follow(Int64(total))
    }

    mutating func follow(_ total: Int64) {
        if total > last { counter.increment(by: total - last) }
        last = max(last, total)  // a total never shrinks; if one did, wait for it to pass the old value
    }

    /// For totals kept in nanoseconds and exposed in seconds.
    mutating func follow(nanos total: Int64) {
        if total > last { counter.increment(by: Double(total - last) / 1e9) }
        last = max(last, total)
    }
}
