/// Where fetched kline history goes: the candle builder, which checks it
/// against the candles it builds from trades before joining it (issue 18).
/// Called on the reactor's thread, once per fetch, after its log line.
public protocol KlineHistorySink: AnyObject {
    /// The answer to one fetch of (symbol, interval): Binance's klines, oldest
    /// first, or why none came. The newest kline of a fetch without
    /// `endTimeMs` is usually still forming: its `closeTimeMs` is in the future.
    /// `symbol` is upper case; `interval` is one of `BinanceKlineInterval.names`.
    func klineHistoryArrived(symbol: String, interval: String, _ result: Result<[Kline], KlineFetchFailure>)
}

/// Why a kline fetch gave up, in words for the log (a 400's message, too
/// many failed tries, its deadline, shutdown).
public struct KlineFetchFailure: Error, Equatable, Sendable {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }
}

/// Receives every fetch's progress (the server, which logs it). Separate
/// from FeedEventObserver so an observer without kline fetches needs nothing new.
public protocol KlineFetchObserver: AnyObject {
    func klineFetch(_ report: KlineFetchReport)
}

/// Why `LiveFeed.requestKlines` refused a request at once.
public enum KlineRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--binance-api-url off`: there is no WebSocket API to ask.
    case apiOff
    case unknownSymbol(String)
    case invalidInterval(String)
    case invalidLimit(Int)
    case invalidTimeRange(startTimeMs: Int64?, endTimeMs: Int64?)
    /// Every queue slot is taken (one per symbol and interval, plus 64).
    case queueFull

    public var description: String {
        switch self {
        case .apiOff: "kline fetches need the WebSocket API (--binance-api-url is off)"
        case .unknownSymbol(let symbol): "'\(symbol)' is not one of the served symbols"
        case .invalidInterval(let name):
            "'\(name)' is not a kline interval (\(BinanceKlineInterval.names.joined(separator: ",")))"
        case .invalidLimit(let limit): "limit \(limit) is not from 1 to 1000"
        case .invalidTimeRange(let start, let end):
            "startTime \(start.map(String.init) ?? "-") and endTime \(end.map(String.init) ?? "-") are not a range"
        case .queueFull: "too many kline fetches queued"
        }
    }
}
