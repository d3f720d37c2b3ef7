import MarketData

/// What happens to a StreamPrices stream whose reader falls behind.
///
/// Past the soft limit its prices are conflated: only the latest trade per
/// symbol is held, and it goes out as soon as the backlog is back under the
/// limit. A stream that stays above the soft limit for the timeout, or whose
/// backlog reaches the hard limit (GRPCLimits.maxStreamBacklogBytes), ends
/// with RESOURCE_EXHAUSTED. Memory per stream is therefore bounded by the
/// hard limit plus one trade per symbol, whatever the reader does.
public struct SlowConsumerPolicy: Sendable {
    /// `--stream-soft-limit`.
    public var softLimitBytes = 256 * 1024
    /// `--slow-consumer-timeout`.
    public var timeoutNanos: Int64 = 10_000_000_000
    /// The soft limit of a stream whose reader has not taken a byte and
    /// cannot (ClientStream.windowNeverOpened): a client that opens thousands of calls
    /// with zero flow-control windows would otherwise have every trade
    /// queued on each of them up to the soft limit, and that fan-out, not
    /// memory, is what stalls the loop (issue 20: 120 × 100 such calls
    /// stalled it for up to 1.8 s). A real reader takes its first message
    /// within one flush, and one whose window is open is never judged by it
    /// (a replay at full speed queues far more before the first flush).
    /// 4 KiB is about 50 trades.
    public var untakenLimitBytes = 4 * 1024

    public init() {}

    /// Past this backlog the stream's prices are conflated and its timeout runs.
    @inline(__always)
    public func conflationLimit(windowNeverOpened: Bool) -> Int {
        windowNeverOpened ? min(softLimitBytes, untakenLimitBytes) : softLimitBytes
    }
}

/// One stream's side of the policy, kept in its registry entry.
struct SlowConsumerState {
    /// The latest held-back trade per symbol index; empty until the first
    /// conflation, so streams that keep up never pay for it.
    private(set) var held: [Trade?] = []
    private(set) var heldCount = 0
    /// Monotonic time the backlog was first seen above the soft limit; 0 when below.
    var aboveSoftSinceNanos: Int64 = 0

    var isHolding: Bool { heldCount > 0 }

    /// Holds `trade` instead of queuing it. Returns true when it replaced an
    /// older held trade of its symbol, which then never reaches the client.
    mutating func hold(_ trade: Trade, symbolCount: Int) -> Bool {
        if held.isEmpty { held = Array(repeating: nil, count: symbolCount) }
        let replaced = held[trade.symbolIndex] != nil
        if !replaced { heldCount += 1 }
        held[trade.symbolIndex] = trade
        return replaced
    }

    /// Hands the held trades back, oldest first, and forgets them.
    mutating func release() -> [Trade] {
        guard heldCount > 0 else { return [] }
        let trades = held.compactMap { $0 }.sorted { $0.ingestUnixNanos < $1.ingestUnixNanos }
        for index in held.indices { held[index] = nil }
        heldCount = 0
        return trades
    }
}
