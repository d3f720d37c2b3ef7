import MarketData

/// Kline warm-up: the entry point the application calls, and where the
/// fetches' results leave the feed. The fetching itself is the backfill's
/// (BackfillMachine+Klines.swift): same connection, same weight.
extension LiveFeed {
    /// Fetches the recent klines Binance already has for (symbol, interval):
    /// the last `limit` (1…1000), or those from `startTimeMs` and/or up to
    /// `endTimeMs`. The answer reaches `klineHistorySink` (history or a
    /// failure), once. A request already queued is not queued again; its one
    /// answer serves both. Returns false in that case.
    @discardableResult
    public func requestKlines(symbol: String, interval: String, limit: Int = KlineReplyParser.maxKlines,
                              startTimeMs: Int64? = nil, endTimeMs: Int64? = nil) throws(KlineRequestError) -> Bool {
        guard let backfill else { throw .apiOff }
        let name = symbol.uppercased()
        guard symbols.upperCased.contains(name) else { throw .unknownSymbol(symbol) }
        guard BinanceKlineInterval.isValid(interval) else { throw .invalidInterval(interval) }
        guard (1...KlineReplyParser.maxKlines).contains(limit) else { throw .invalidLimit(limit) }
        if let start = startTimeMs, let end = endTimeMs, start > end { throw .invalidTimeRange(startTimeMs: start, endTimeMs: end) }
        if startTimeMs.map({ $0 < 0 }) == true || endTimeMs.map({ $0 < 0 }) == true {
            throw .invalidTimeRange(startTimeMs: startTimeMs, endTimeMs: endTimeMs)
        }
        let request = KlineRequest(symbol: name, interval: interval, limit: limit, startTimeMs: startTimeMs,
                                   endTimeMs: endTimeMs)
        defer { sink.publish(due: &due) }  // the API's end may release held trades
        switch backfill.requestKlines(request) {
        case .queued: return true
        case .alreadyQueued: return false
        case .full: throw .queueFull
        }
    }

    /// `--warm-intervals`: every symbol × interval, the last 1,000 klines each.
    func warmUp() {
        guard let backfill else { return }
        for interval in backfill.machine.settings.warmIntervals {
            for symbol in symbols.upperCased {
                do { try requestKlines(symbol: symbol, interval: interval) } catch {
                    backfillKlines(.failed(symbol: symbol, interval: interval, reason: "\(error)", durationNanos: 0,
                                           attempts: 0))
                }
            }
        }
    }

    /// The fetches' counters; nil when backfill is off.
    public var klineFetchStatistics: KlineFetchStatistics? { backfill?.machine.klines.statistics }

    func backfillKlines(_ report: KlineFetchReport) {
        (observer as? KlineFetchObserver)?.klineFetch(report)
        switch report {
        case .fetched(let symbol, let interval, let klines, _, _):
            klineHistorySink?.klineHistoryArrived(symbol: symbol, interval: interval, .success(klines))
        case .failed(let symbol, let interval, let reason, _, _):
            klineHistorySink?.klineHistoryArrived(symbol: symbol, interval: interval,
                                                  .failure(KlineFetchFailure(reason: reason)))
        case .retrying:
            break
        }
    }
}
