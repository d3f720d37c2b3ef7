/// The indicator limits and cadence, from the command line.
public struct IndicatorSettings: Sendable {
    /// Prices kept per symbol (--history); bounds the longest period.
    public var historyCapacity = 1000
    /// The longest period a client may ask for (--max-period).
    public var maxPeriod = 1000
    /// Distinct (symbol, type, period) states alive at once (--max-indicators).
    public var maxIndicators = 4096
    /// Subscriptions one stream may hold (--max-subscriptions-per-stream).
    public var maxSubscriptionsPerStream = 64
    /// Distinct indicators all the streams of one connection may hold
    /// (--max-indicators-per-connection), so one client cannot take the pool.
    public var maxIndicatorsPerConnection = 256
    /// How often each stream gets its batch (--indicator-interval).
    public var intervalNanos: Int64 = 100_000_000

    public init() {}
}

import GRPCWire

extension IndicatorSettings {
    /// Room for one more subscription on the stream: per-trade and candle
    /// subscriptions count towards the same --max-subscriptions-per-stream.
    func admitsAnotherSubscription<Stream>(on entry: PriceStreamEntry<Stream>) -> Bool {
        entry.subscriptions.count + entry.candleSubscriptions.count < maxSubscriptionsPerStream
    }

    /// The answer to a subscription the stream has no room for.
    var streamFull: GRPCStatus {
        GRPCStatus(.resourceExhausted,
                   "this stream already holds \(maxSubscriptionsPerStream) subscriptions (the server's --max-subscriptions-per-stream); unsubscribe one first")
    }
}
