import MarketData

/// Kline warm-up: the entry point the application calls, and where the
/// fetches' results leave the feed. The fetching itself is the backfill's
/// (BackfillMachine+Klines.swift): same connection, same weight.
extension LiveFeed {
    /// Fetches the recent klines Binance already has for (symbol, interval):
    /// the last `limit` (1…1000), or those from `startTimeMs` and/or up to
    /// `endTimeMs`. The answer reaches `klineHistorySink` (history or a
    /// failure), once. A request already queued is not queued again; its one
    /// answer serves both. Returns false in that case. Call on the loop's thread.
    @discardableResult
    public func requestKlines(symbol: String, interval: String, limit: Int = KlineReplyParser.maxKlines,
                              startTimeMs: Int64? = nil, endTimeMs: Int64? = nil) throws(KlineRequestError) -> Bool {
        guard let backfill else { throw .apiOff }
        let request = try KlineRequest(symbol: symbol, interval: interval, limit: limit, startTimeMs: startTimeMs,
                                       endTimeMs: endTimeMs, servedSymbols: symbols.upperCased)
        // No trade is delivered on this path (a fetch only queues, opens or
        // sends), so `due` is not touched: safe to call from a sink's callback.
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
