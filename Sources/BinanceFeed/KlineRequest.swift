/// One `klines` request: the most recent `limit` klines of a (symbol,
/// interval), or the first `limit` from `startTimeMs`, or the last before
/// `endTimeMs` (Binance's rules for the two times).
struct KlineRequest: Equatable, Sendable {
    /// Upper case, one of the feed's symbols.
    var symbol: String
    /// One of `BinanceKlineInterval.names`.
    var interval: String
    /// 1…1000.
    var limit: Int
    var startTimeMs: Int64?
    var endTimeMs: Int64?
}

extension KlineRequest {
    /// A request checked before it is queued: a served symbol (any case), one
    /// of Binance's interval names, Binance's limit range, and a time range
    /// that is one. What Binance itself would refuse never costs weight.
    init(symbol: String, interval: String, limit: Int, startTimeMs: Int64?, endTimeMs: Int64?,
         servedSymbols: [String]) throws(KlineRequestError) {
        let name = symbol.uppercased()
        guard servedSymbols.contains(name) else { throw .unknownSymbol(symbol) }
        guard BinanceKlineInterval.isValid(interval) else { throw .invalidInterval(interval) }
        guard (1...KlineReplyParser.maxKlines).contains(limit) else { throw .invalidLimit(limit) }
        let negative = (startTimeMs ?? 0) < 0 || (endTimeMs ?? 0) < 0
        if negative || (startTimeMs ?? .min) > (endTimeMs ?? .max) {
            throw .invalidTimeRange(startTimeMs: startTimeMs, endTimeMs: endTimeMs)
        }
        self.init(symbol: name, interval: interval, limit: limit, startTimeMs: startTimeMs, endTimeMs: endTimeMs)
    }
}

/// What the warm-up fetch tells its owner: for the log and the metrics, and
/// (`fetched`, `failed`) for the history sink.
public enum KlineFetchReport: Equatable, Sendable {
    /// The history arrived, oldest first. `durationNanos` runs from queueing
    /// to the reply; `attempts` counts the tries, this one included.
    case fetched(symbol: String, interval: String, klines: [Kline], durationNanos: Int64, attempts: Int)
    /// A try failed in a way waiting may mend (429/418, 5xx, an unreadable
    /// reply, the connection lost); the fetch is queued again.
    case retrying(symbol: String, interval: String, reason: String, retryInMs: Int64, attempt: Int)
    /// Given up (a 400, too many tries, its deadline, shutdown). Final.
    case failed(symbol: String, interval: String, reason: String, durationNanos: Int64, attempts: Int)
}

/// Counters for the metrics endpoint.
public struct KlineFetchStatistics: Equatable, Sendable {
    /// `klines` requests sent (retries included).
    public var requests = 0
    public var fetched = 0
    public var failed = 0
    public var retries = 0
    public var klinesReceived = 0
    /// REQUEST_WEIGHT the requests cost (2 each).
    public var weightSpent = 0
    public init() {}
}
