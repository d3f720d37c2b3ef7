/// What `CandleSeries.seed(history:nowMs:)` decided about fetched klines.
public enum SeedOutcome: Equatable, Sendable {
    /// The history was joined. `added` fetched candles now precede the ones
    /// built from trades; `agreed` of those built candles were compared field
    /// by field with Binance's and matched.
    case joined(added: Int, agreed: Int)
    /// Nothing changed; the reason is for the log and the refusal counter.
    case refused(SeedRefusal)
}

/// Why fetched klines were not joined.
public enum SeedRefusal: Equatable, Sendable {
    /// No kline that had closed by `nowMs`.
    case empty
    /// A kline whose open or close time is not one of this interval's.
    case misaligned(openTimeMs: Int64)
    /// A kline that does not follow the previous one by exactly one interval.
    case notContiguous(openTimeMs: Int64)
    /// The history ends before the candle that would touch the built ones.
    case leavesGap(lastFetchedOpenMs: Int64, neededOpenMs: Int64)
    /// A fetched kline contradicts the candle built from trades for the same interval.
    case disagrees(openTimeMs: Int64, field: CandleField)
}

/// The fields the check compares.
public enum CandleField: String, Sendable {
    /// Open price.
    case open
    /// High price.
    case high
    /// Low price.
    case low
    /// Close price.
    case close
    /// Base-asset volume.
    case volume
    /// Quote-asset volume.
    case quoteVolume
    /// Trade count.
    case tradeCount
    /// Taker-buy base volume.
    case takerBuyVolume
    /// Taker-buy quote volume.
    case takerBuyQuoteVolume
}
