import MarketData

/// How late trades reach Tickwire: per trade, its ingest time (the frame was
/// read) against Binance's event time (`E`, when Binance sent the frame) and
/// trade time (`T`, when the match happened), as two fixed-bucket histograms,
/// and each symbol's latest trade time. Plain integers sized at startup:
/// observing a trade is two short bucket scans and a store, and allocates
/// nothing; the metrics endpoint renders the counts at scrape time.
///
/// Backfilled trades are left out: they were fetched late on purpose, and
/// would only show the outage they filled. A replay is observed like a live
/// feed, so its lag is the recording's age.
public struct FeedLag {
    /// Upper bounds of the buckets, in nanoseconds (ascending; +Inf is implicit).
    public static let bucketBoundsNanos: [Int64] = [
        1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
    ].map { Int64($0) * 1_000_000 }

    /// One histogram: how many observations fell in each bucket (not
    /// cumulative; the last entry is +Inf), their sum, and their count.
    public struct Histogram {
        public private(set) var bucketCounts: [Int]
        /// In seconds, as a Double: a replay's lags (years each) would
        /// overflow a sum of nanoseconds within a few thousand trades.
        public private(set) var sumSeconds = 0.0
        public private(set) var count = 0
        /// bucketBoundsNanos, held here so the per-trade scan reads a stored array.
        private let boundsNanos = FeedLag.bucketBoundsNanos

        init() {
            bucketCounts = Array(repeating: 0, count: boundsNanos.count + 1)
        }

        /// A negative lag (Binance's clock ahead of ours) counts as 0.
        @inline(__always)
        mutating func observe(_ lagNanos: Int64) {
            let lag = max(0, lagNanos)
            // Past the last bound at once: a replay's lags are years, and
            // scanning every bucket for them cost ~50 instructions a message.
            var index = lag > boundsNanos[boundsNanos.count - 1] ? boundsNanos.count : 0
            while index < boundsNanos.count && lag > boundsNanos[index] { index += 1 }
            bucketCounts[index] += 1
            sumSeconds += Double(lag) / 1e9
            count += 1
        }
    }

    /// Ingest against Binance's event time `E`.
    public private(set) var eventLag = Histogram()
    /// Ingest against the trade's own time `T`.
    public private(set) var tradeLag = Histogram()
    /// Per symbol (SymbolTable order): the trade time of the newest trade
    /// published, in Unix milliseconds; 0 before the first.
    public private(set) var lastTradeTimeMs: [Int64]

    public init(symbolCount: Int) {
        lastTradeTimeMs = Array(repeating: 0, count: symbolCount)
    }

    @inline(__always)
    public mutating func observe(_ trade: Trade) {
        if trade.tradeTimeMs > lastTradeTimeMs[trade.symbolIndex] {
            lastTradeTimeMs[trade.symbolIndex] = trade.tradeTimeMs
        }
        guard !trade.isBackfilled else { return }
        eventLag.observe(trade.ingestUnixNanos &- trade.eventTimeMs &* 1_000_000)
        tradeLag.observe(trade.ingestUnixNanos &- trade.tradeTimeMs &* 1_000_000)
    }
}
