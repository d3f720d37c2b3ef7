/// Trades of one symbol that will never be delivered: the feed missed them
/// and could not fetch them from Binance's history. Every client is told, in
/// the stream's trade order, so a gap is announced, never implied.
public struct TradeGap: Equatable, Sendable {
    public enum Reason: Int, Sendable, CaseIterable {
        /// More missing trades than `--backfill-max-trades` (or more live trades held).
        case tooLarge = 1
        /// The backfill did not finish within `--backfill-timeout`.
        case timeout = 2
        /// Binance's WebSocket API refused, failed, or could not be reached.
        case apiRefused = 3
        /// Binance's history does not hold these ids.
        case historyMissing = 4

        /// The label used in logs and metrics.
        public var label: String {
            switch self {
            case .tooLarge: "too_large"
            case .timeout: "timeout"
            case .apiRefused: "api_refused"
            case .historyMissing: "history_missing"
            }
        }
    }

    public var symbolIndex: Int
    /// Inclusive range of missing trade ids.
    public var firstMissingID: Int64
    public var lastMissingID: Int64
    public var reason: Reason
    /// For people: the API's message, or which bound was hit.
    public var detail: String

    public init(symbolIndex: Int, firstMissingID: Int64, lastMissingID: Int64, reason: Reason, detail: String) {
        precondition(firstMissingID <= lastMissingID, "an empty gap is no gap")
        self.symbolIndex = symbolIndex
        self.firstMissingID = firstMissingID
        self.lastMissingID = lastMissingID
        self.reason = reason
        self.detail = detail
    }

    public var tradeCount: Int64 { lastMissingID - firstMissingID + 1 }
}
