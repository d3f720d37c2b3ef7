import BinanceFeed
import Logging

/// Every kline fetch's progress becomes one log line. Message texts and
/// metadata keys are part of the operator's (and the integration tests') contract.
extension TickwireServer: KlineFetchObserver {
    public func klineFetch(_ report: KlineFetchReport) {
        switch report {
        case let .fetched(symbol, interval, klines, durationNanos, attempts):
            logger.notice("kline fetch complete", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "count": "\(klines.count)",
                "first_open_ms": "\(klines.first.map { String($0.openTimeMs) } ?? "none")",
                "last_open_ms": "\(klines.last.map { String($0.openTimeMs) } ?? "none")",
                "duration_ms": "\(durationNanos / 1_000_000)", "attempts": "\(attempts)",
            ])
        case let .retrying(symbol, interval, reason, retryInMs, attempt):
            logger.warning("kline fetch retrying", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "reason": "\(reason)",
                "retry_in_ms": "\(retryInMs)", "attempt": "\(attempt)",
            ])
        case let .failed(symbol, interval, reason, durationNanos, attempts):
            logger.error("kline fetch failed", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "reason": "\(reason)",
                "duration_ms": "\(durationNanos / 1_000_000)", "attempts": "\(attempts)",
            ])
        }
    }
}
