/// The live feed's state without its payloads, for the metrics endpoint:
/// one gauge per case, 1 for the current one.
public enum FeedConnectionState: String, Sendable, CaseIterable {
    /// Not started yet.
    case idle
    /// An attempt is under way and nothing streams.
    case connecting
    /// One connection delivers trades.
    case streaming
    /// A planned replacement is being brought up while the current one delivers.
    case rotating
    /// Backing off after a failure or a loss.
    case waitingToRetry = "waiting_to_retry"
    /// Shut down.
    case closed
}

extension LiveFeed {
    public var connectionState: FeedConnectionState {
        switch machine.phase {
        case .idle: return .idle
        case .connecting: return .connecting
        case .streaming: return .streaming
        case .rotating: return .rotating
        case .backoff: return .waitingToRetry
        case .closed: return .closed
        }
    }
}
