/// What the live feed tells its owner, which decides how to log it. The
/// feed layer itself has no logger: this keeps it free of swift-log and
/// keeps every message the operator sees in one place (the server).
public enum FeedEvent: Equatable, Sendable {
    public enum Purpose: String, Sendable {
        case startup, reconnect, rotation
    }

    public enum RotationReason: String, Sendable {
        /// The connection reached `--binance-max-connection-age`.
        case maxAge = "max_age"
        /// Binance announced maintenance.
        case serverShutdown = "server_shutdown"
    }

    public enum SkipReason: String, Sendable, CaseIterable {
        case malformed
        case unknownEvent = "unknown_event"
        case binary
        case unknownSymbol = "unknown_symbol"
    }

    case connecting(connection: UInt32, url: String, failures: Int, purpose: Purpose)
    case connected(connection: UInt32, tlsVersion: String, handshakeMs: Int64)
    /// Ended before it streamed: refused, TLS, HTTP status, timeout.
    case connectionFailed(connection: UInt32, reason: String, retryInMs: Int64?, failures: Int)
    /// Ended after it streamed. `retryInMs` is nil when another connection carries on.
    case connectionLost(connection: UInt32, reason: String, retryInMs: Int64?)
    case stale(connection: UInt32, silentMs: Int64)
    case gap(symbol: String, missingTrades: Int64, lastID: Int64, nextID: Int64)
    case rotationStarted(reason: RotationReason, connection: UInt32, candidate: UInt32)
    case rotationComplete(from: UInt32, to: UInt32, duplicatesDropped: Int, proven: Bool)
    /// Rate-limited by the feed: `suppressed` more were skipped since the last report.
    case frameSkipped(reason: SkipReason, connection: UInt32, skippedTotal: Int, suppressed: Int)
    case serverShutdownNotice(connection: UInt32, eventTimeMs: Int64)
    /// An implausible trade id, held until the symbol's next trade shows
    /// whether it is an outlier or a reset.
    case suspectTradeID(symbol: String, tradeID: Int64, lastID: Int64)
    /// A suspect turned out an outlier (the old sequence went on): dropped.
    case outlierDropped(symbol: String, tradeID: Int64, lastID: Int64)
    /// A suspect was followed by its own sequence: Binance's ids reset.
    case sequenceReset(symbol: String, previousID: Int64, nextID: Int64)
    /// Every trade of the symbol was dropped for `forMs`: it is cut off.
    case symbolCutOff(symbol: String, droppedTrades: Int, forMs: Int64)
    /// A cut-off symbol delivers again.
    case symbolRestored(symbol: String, forMs: Int64)
}

/// Receives the feed's events (the server, which logs them).
public protocol FeedEventObserver: AnyObject {
    func feedEvent(_ event: FeedEvent)
}
