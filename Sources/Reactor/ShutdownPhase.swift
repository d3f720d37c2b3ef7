/// The server's life as one state machine, owned by the reactor: the loop runs
/// until the phase is `.stopped`. Every transition lives here and returns what
/// the caller must do, so the order of the shutdown steps reads in one place:
///
///     running → draining(deadline) → stopping(deadline) → stopped
public enum ShutdownPhase: Equatable, Sendable {
    /// Serving normally.
    case running
    /// A signal arrived: nothing new is accepted, existing streams keep
    /// receiving until the deadline or until they all end.
    case draining(deadlineNanos: Int64)
    /// Every stream is ended with UNAVAILABLE; output is flushed until the deadline.
    case stopping(deadlineNanos: Int64)
    /// Everything is released; the loop exits.
    case stopped

    /// What the owner does after a transition.
    public enum Action: Equatable, Sendable {
        /// Health NOT_SERVING, GOAWAY, refuse connections, notify streams.
        case beginDraining(deadlineNanos: Int64)
        /// End every stream and flush until the deadline.
        case beginStopping(deadlineNanos: Int64)
        /// Close every remaining socket at once and leave the loop.
        case finish
        /// Nothing changes.
        case none
    }

    /// How long each phase may last, from the configuration.
    public struct Budget: Equatable, Sendable {
        public var drainNanos: Int64
        public var stopFlushNanos: Int64

        public init(drainNanos: Int64, stopFlushNanos: Int64) {
            self.drainNanos = drainNanos
            self.stopFlushNanos = stopFlushNanos
        }
    }

    /// SIGTERM or SIGINT. The first starts the drain; another one skips
    /// ahead: during the drain straight to stopping, during stopping to the end.
    public mutating func signalReceived(nowNanos: Int64, budget: Budget) -> Action {
        switch self {
        case .running:
            let deadline = nowNanos + budget.drainNanos
            self = .draining(deadlineNanos: deadline)
            return .beginDraining(deadlineNanos: deadline)
        case .draining:
            return startStopping(nowNanos: nowNanos, budget: budget)
        case .stopping:
            self = .stopped
            return .finish
        case .stopped:
            return .none
        }
    }

    /// The drain deadline passed, or no stream is left to drain.
    public mutating func drainEnded(nowNanos: Int64, budget: Budget) -> Action {
        guard case .draining = self else { return .none }
        return startStopping(nowNanos: nowNanos, budget: budget)
    }

    /// Output is fully flushed, or the flush deadline passed.
    public mutating func flushEnded() -> Action {
        guard case .stopping = self else { return .none }
        self = .stopped
        return .finish
    }

    private mutating func startStopping(nowNanos: Int64, budget: Budget) -> Action {
        let deadline = nowNanos + budget.stopFlushNanos
        self = .stopping(deadlineNanos: deadline)
        return .beginStopping(deadlineNanos: deadline)
    }

    public var acceptsNewWork: Bool { self == .running }

    public var isDraining: Bool {
        if case .draining = self { return true }
        return false
    }

    public var isStopping: Bool {
        if case .stopping = self { return true }
        return false
    }
}
