/// How a fetched kline is held against a candle built from trades.
///
/// Prices and counts must be equal. Volumes are sums: Binance adds decimals
/// exactly, we add doubles, so they agree to a relative 1e-9 (a day of
/// BTCUSDT trades accumulates about 1e-13 of rounding; 1e-9 still catches a
/// single missing trade of any size a market prints).
enum CandleComparison {
    static let volumeTolerance = 1e-9

    /// A candle seen whole must match in every field.
    static func firstDifference(built: Candle, fetched: Candle) -> CandleField? {
        if built.open != fetched.open { return .open }
        if built.high != fetched.high { return .high }
        if built.low != fetched.low { return .low }
        if built.close != fetched.close { return .close }
        if built.tradeCount != fetched.tradeCount { return .tradeCount }
        if !close(built.volume, fetched.volume) { return .volume }
        if !close(built.quoteVolume, fetched.quoteVolume) { return .quoteVolume }
        if !close(built.takerBuyVolume, fetched.takerBuyVolume) { return .takerBuyVolume }
        if !close(built.takerBuyQuoteVolume, fetched.takerBuyQuoteVolume) { return .takerBuyQuoteVolume }
        return nil
    }

    /// The candle the first trade fell in saw only the interval's end, so the
    /// fetched one must contain it: the same close, a range and totals at
    /// least as large.
    static func firstContradiction(partial: Candle, fetched: Candle) -> CandleField? {
        let slack = 1 - volumeTolerance
        if partial.close != fetched.close { return .close }
        if fetched.high < partial.high { return .high }
        if fetched.low > partial.low { return .low }
        if fetched.tradeCount < partial.tradeCount { return .tradeCount }
        if fetched.volume < partial.volume * slack { return .volume }
        if fetched.quoteVolume < partial.quoteVolume * slack { return .quoteVolume }
        return nil
    }

    static func close(_ a: Double, _ b: Double) -> Bool {
        abs(a - b) <= volumeTolerance * max(abs(a), abs(b)) || abs(a - b) < 1e-12
    }
}
