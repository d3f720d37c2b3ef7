/// What one StreamPrices call's sending loop acts on, in arrival order. Prices
/// (from the replay task), requests (from the call's reader task) and SMA ticks
/// share one bounded AsyncStream, so a single loop owns the RPCWriter and the
/// call's subscriptions without locks.
enum StreamEvent: Sendable {
    /// One trade, shared by every stream; sent as is.
    case price(Tickwire_V1_StreamResponse)
    /// An IndicatorRequest from the client, answered with a status.
    case request(Tickwire_V1_IndicatorRequest)
    /// The 100 ms indicator cadence: send the SMAs that changed.
    case tick
    /// The client's `tickwire-stream-duration` has passed: end with OK.
    case expired
    /// Reading requests failed (not a half-close): end the call with it.
    case requestsFailed(any Error)
}
