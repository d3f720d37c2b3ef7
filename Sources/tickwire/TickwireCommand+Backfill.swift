import ArgumentParser
import Foundation
import BinanceFeed

/// --binance-api-url, --backfill-timeout, --backfill-max-trades and --warm-intervals.
extension TickwireCommand {
    /// nil when backfill is off (`--binance-api-url off`).
    func makeBackfillSettings() throws -> BackfillSettings? {
        let intervals = try warmIntervalList()
        if ["off", ""].contains(binanceAPIURL.lowercased()) {
            guard intervals.isEmpty else { throw ValidationError("--warm-intervals needs --binance-api-url (it is off)") }
            return nil
        }
        let endpoint: BinanceEndpoint
        do { endpoint = try BinanceEndpoint(url: binanceAPIURL) } catch {
            throw ValidationError("--binance-api-url: \(error) (or 'off')")
        }
        guard let timeout = GoDuration(parsing: backfillTimeout), timeout.nanoseconds >= 100_000_000,
              timeout.nanoseconds <= 60_000_000_000 else {
            throw ValidationError("--backfill-timeout '\(backfillTimeout)' must be a duration from 100ms to 60s, such as 5s")
        }
        guard (1...10_000_000).contains(backfillMaxTrades) else {
            throw ValidationError("--backfill-max-trades must be from 1 to 10000000")
        }
        let kind = TradeStreamKind.allCases.first { $0.rawValue.lowercased() == stream.lowercased() } ?? .trade
        var settings = BackfillSettings(endpoint: endpoint, stream: kind, timeoutNanos: timeout.nanoseconds,
                                        maxTradesPerGap: Int64(backfillMaxTrades))
        settings.warmIntervals = intervals
        return settings
    }

    /// Binance's names, case-sensitive ("1M" is a month, which is not served); each once.
    func warmIntervalList() throws -> [String] {
        var list: [String] = []
        for name in warmIntervals.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard BinanceKlineInterval.isValid(name) else {
                throw ValidationError("--warm-intervals: '\(name)' is not one of \(BinanceKlineInterval.names.joined(separator: ","))")
            }
            if !list.contains(name) { list.append(name) }
        }
        return list
    }
}
