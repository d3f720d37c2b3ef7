import ArgumentParser
import BinanceFeed

/// --binance-api-url, --backfill-timeout and --backfill-max-trades.
extension TickwireCommand {
    /// nil when backfill is off (`--binance-api-url off`).
    func makeBackfillSettings() throws -> BackfillSettings? {
        if ["off", ""].contains(binanceAPIURL.lowercased()) { return nil }
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
        return BackfillSettings(endpoint: endpoint, stream: kind, timeoutNanos: timeout.nanoseconds,
                                maxTradesPerGap: Int64(backfillMaxTrades))
    }
}
