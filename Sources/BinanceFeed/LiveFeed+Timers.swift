import Reactor

/// The feed's own timers: its maintenance tick and its retry.
enum FeedTimer: UInt8 {
    /// Stale checks, pings, age rotation and the overlap and close timeouts.
    case tick = 1
    /// The backoff is over: connect again.
    case retry = 2

    var token: TimerToken { TimerToken(owner: .feed, purpose: rawValue) }
}

extension LiveFeed {
    /// A timer of owner `.feed` expired.
    public func timerFired(_ token: TimerToken) {
        switch FeedTimer(rawValue: token.purpose) {
        case .tick: tick()
        case .retry: retryDue()
        case nil: assertionFailure("not a feed timer: \(token)")
        }
    }
}
