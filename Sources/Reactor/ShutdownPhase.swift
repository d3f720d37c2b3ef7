/// The server's life as one state machine, owned by the reactor: the loop runs
/// until the phase is `.stopped`. Every transition lives here and returns what
/// the caller must do, so the order of shutdown steps is readable in one place.
public enum ShutdownPhase: Equatable, Sendable {
    /// Serving normally.
    case running
    /// Ending every stream and flushing output until the deadline; nothing new is accepted.
    case stopping(deadlineNanos: Int64)
    /// Everything is released; the loop exits.
    case stopped

    /// What the owner does after a transition.
    public enum Action: Equatable, Sendable {
        /// Stop accepting, end all streams, and flush until the deadline.
        case beginStopping(deadlineNanos: Int64)
        /// Close every remaining socket at once and leave the loop.
        case finish
        /// Nothing changes.
        case none
    }

    /// A SIGTERM or SIGINT arrived. The first one starts the stop; a second one,
    /// or one during the stop, means "now".
    public mutating func signalReceived(nowNanos: Int64, flushBudgetNanos: Int64) -> Action {
        switch self {
        case .running:
            let deadline = nowNanos + flushBudgetNanos
            self = .stopping(deadlineNanos: deadline)
            return .beginStopping(deadlineNanos: deadline)
        case .stopping:
            self = .stopped
            return .finish
        case .stopped:
            return .none
        }
    }

    /// Output is fully flushed, or the flush deadline passed.
    public mutating func flushEnded() -> Action {
        switch self {
        case .stopping:
            self = .stopped
            return .finish
        case .running, .stopped:
            assertionFailure("flushEnded in \(self)")
            return .none
        }
    }

    public var acceptsNewWork: Bool { self == .running }
}
