/// Where the live feed stands: which connection carries the data, and what
/// comes next. Transitions live in FeedMachine; the payloads carry what each
/// state needs, so no side field can disagree with the state.
///
///     idle → connecting → streaming ⇄ rotating
///              ↑    │         │
///              └─ backoff ←───┘           (any) → closed
enum FeedPhase: Equatable, Sendable {
    /// Not started yet.
    case idle
    /// One attempt is under way and nothing streams; BinanceConnection owns
    /// the attempt's own steps (resolve, TCP connect, TLS, WebSocket upgrade).
    case connecting(FeedConnection)
    /// One connection delivers trades.
    case streaming(Streaming)
    /// Current still delivers while the candidate comes up (make before break).
    case rotating(FeedRotation)
    /// Waiting out the backoff after a failure or a loss; nothing is open.
    case backoff(untilNanos: Int64)
    /// Shut down: nothing reconnects.
    case closed

    /// The payload of `.streaming`.
    struct Streaming: Equatable, Sendable {
        var connection: FeedConnection
        /// A rotation whose candidate failed, tried again after a wait. While
        /// it waits the backoff is not reset, so repeated failures keep growing it.
        var deferredRotation: DeferredRotation?
    }

    /// A rotation to start again once `notBeforeNanos` has passed.
    struct DeferredRotation: Equatable, Sendable {
        let reason: FeedEvent.RotationReason
        let notBeforeNanos: Int64
    }
}
