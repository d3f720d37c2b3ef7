import BinanceFeed
import Logging

/// The kline history sink until candles exist (issue 18): it only logs and
/// counts what would have been joined. To wire the candle builder, replace
/// the one line in TickwireServer.init that sets `liveFeed.klineHistorySink`
/// (search "UnconsumedKlineHistory") with the candle side's sink, whose
/// `klineHistoryArrived` calls `seed(history:)`.
final class UnconsumedKlineHistory: KlineHistorySink {
    private let logger: Logger
    private(set) var histories = 0
    private(set) var klines = 0
    private(set) var failures = 0

    init(logger: Logger) {
        self.logger = logger
    }

    func klineHistoryArrived(symbol: String, interval: String, _ result: Result<[Kline], KlineFetchFailure>) {
        switch result {
        case .success(let list):
            histories += 1
            klines += list.count
            logger.debug("kline history not consumed (no candles yet)", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "count": "\(list.count)",
                "histories_total": "\(histories)",
            ])
        case .failure(let failure):
            failures += 1
            logger.debug("kline history not consumed (no candles yet)", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "failure": "\(failure.reason)",
                "failures_total": "\(failures)",
            ])
        }
    }
}
