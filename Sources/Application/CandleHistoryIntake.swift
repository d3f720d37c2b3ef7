import BinanceFeed
import Candles
import Engine
import Logging
import MarketData
import Reactor

/// Where fetched klines meet the candles built from trades (issue 18, item
/// 4): each history Binance sends (at startup for --warm-intervals, or when a
/// series is first subscribed) is checked against the built candles and
/// joined only when they agree (CandleService.seed); a refusal is logged
/// with its reason and counted, and the series goes on from trades alone.
final class CandleHistoryIntake: KlineHistorySink {
    private unowned let candles: CandleService
    private let symbols: SymbolTable
    private let clock: any ReactorClock
    private let logger: Logger

    init(candles: CandleService, symbols: SymbolTable, clock: any ReactorClock, logger: Logger) {
        self.candles = candles
        self.symbols = symbols
        self.clock = clock
        self.logger = logger
    }

    func klineHistoryArrived(symbol: String, interval: String, _ result: Result<[Kline], KlineFetchFailure>) {
        guard let index = symbols.index(of: symbol.lowercased()), let series = CandleInterval(binanceName: interval) else {
            logger.error("kline history for a series this server does not build; ignored", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)",
            ])
            return
        }
        let klines: [Kline]
        switch result {
        case .success(let list):
            klines = list
        case .failure(let failure):
            logger.warning("kline history unavailable; candles start from trades alone", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "reason": "\(failure.reason)",
            ])
            return
        }
        let history = klines.map {
            Candle.fetched(openTimeMs: $0.openTimeMs, interval: series, open: $0.open, high: $0.high, low: $0.low,
                           close: $0.close, volume: $0.baseVolume, quoteVolume: $0.quoteVolume, tradeCount: $0.tradeCount,
                           takerBuyVolume: $0.takerBuyBaseVolume, takerBuyQuoteVolume: $0.takerBuyQuoteVolume)
        }
        let nowMs = clock.wallUnixNanos() / 1_000_000
        switch candles.seed(symbol: index, interval: series, history: history, nowMs: nowMs) {
        case .joined(let added, let agreed):
            logger.info("kline history joined", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "fetched": "\(klines.count)",
                "added": "\(added)", "agreed_with_built": "\(agreed)",
            ])
        case .refused(let reason):
            logger.warning("kline history refused: it does not agree with the candles built from trades", metadata: [
                "symbol": "\(symbol)", "interval": "\(interval)", "fetched": "\(klines.count)",
                "reason": "\(Self.describe(reason))",
            ])
        }
    }

    private static func describe(_ refusal: SeedRefusal) -> String {
        switch refusal {
        case .empty:
            return "no kline that has closed"
        case .misaligned(let open):
            return "kline open time \(open) is not on the interval's boundaries"
        case .notContiguous(let open):
            return "kline at \(open) does not follow the one before it"
        case .leavesGap(let last, let needed):
            return "history ends at \(last), before \(needed), the candle next to the ones built"
        case .disagrees(let open, let field):
            return "kline at \(open) differs from the candle built from trades in its \(field.rawValue)"
        }
    }
}
