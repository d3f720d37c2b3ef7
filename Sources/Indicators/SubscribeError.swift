/// Why `IndicatorEngine.subscribe` refused a request. Both are the client's to
/// see: the caller maps them to a subscription status on the stream.
public enum SubscribeError: Error, Equatable, Sendable {
    /// The period is below 2 or above the engine's `maxPeriod`, which the price history bounds.
    case invalidPeriod
    /// All `maxIndicators` preallocated states are in use by other keys.
    case poolExhausted
}
