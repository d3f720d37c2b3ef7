import Glibc

/// The `--workers` supervisor's life as one state machine. Every transition
/// lives here and returns what the supervisor must do; the supervisor does
/// the spawning, signalling and logging:
///
///     starting → running → stopping(deadline) → stopped
///
/// A worker that exits while `starting` fails the whole start (its flags or
/// ports are wrong, and a restart would fail the same way); one that exits
/// while `running` is restarted; while `stopping`, exits are expected.
public enum SupervisorPhase: Equatable, Sendable {
    /// Workers are spawned; not every one has said it listens yet.
    case starting
    /// Every worker listened once; a worker that dies is restarted.
    case running
    /// Workers were told to stop; none is restarted. `failed` once the start
    /// failed, a worker exited unclean, or the deadline forced a kill.
    case stopping(deadlineNanos: Int64, failed: Bool)
    /// Every worker has exited; the loop ends.
    case stopped(failed: Bool)

    /// What the supervisor does after a transition.
    public enum Action: Equatable, Sendable {
        /// Log `listening`: every worker serves.
        case announceListening
        /// Send `signal` to every live worker, cancel pending restarts, and
        /// SIGKILL what is left at the deadline.
        case forward(signal: Int32, killDeadlineNanos: Int64)
        /// Respawn this worker after its backoff.
        case restart(index: Int)
        /// The deadline passed: SIGKILL every worker still alive.
        case killRemaining
        /// Leave the loop.
        case finish
        /// Nothing changes.
        case none
    }

    /// The last worker of the first round said it listens.
    public mutating func allWorkersListening() -> Action {
        guard self == .starting else { return .none }
        self = .running
        return .announceListening
    }

    /// SIGTERM or SIGINT. The first stops the group; each later one is
    /// forwarded too, so the workers skip ahead in their own shutdown.
    public mutating func signalReceived(_ signal: Int32, nowNanos: Int64, stopBudgetNanos: Int64) -> Action {
        switch self {
        case .starting, .running:
            let deadline = nowNanos + stopBudgetNanos
            self = .stopping(deadlineNanos: deadline, failed: false)
            return .forward(signal: signal, killDeadlineNanos: deadline)
        case .stopping(let deadline, _):
            return .forward(signal: signal, killDeadlineNanos: deadline)
        case .stopped:
            return .none
        }
    }

    /// A worker was reaped; `clean` is exit status 0; `liveWorkers` counts
    /// those still running after it.
    public mutating func workerExited(index: Int, clean: Bool, liveWorkers: Int,
                                      nowNanos: Int64, stopBudgetNanos: Int64) -> Action {
        switch self {
        case .starting:
            if liveWorkers == 0 {
                self = .stopped(failed: true)
                return .finish
            }
            let deadline = nowNanos + stopBudgetNanos
            self = .stopping(deadlineNanos: deadline, failed: true)
            return .forward(signal: SIGTERM, killDeadlineNanos: deadline)
        case .running:
            return .restart(index: index)
        case .stopping(let deadline, let failed):
            if liveWorkers == 0 {
                self = .stopped(failed: failed || !clean)
                return .finish
            }
            self = .stopping(deadlineNanos: deadline, failed: failed || !clean)
            return .none
        case .stopped:
            assertionFailure("worker \(index) reaped after the supervisor stopped")
            return .none
        }
    }

    /// The stop deadline passed with workers still alive.
    public mutating func stopDeadlinePassed() -> Action {
        guard case .stopping(let deadline, _) = self else { return .none }
        self = .stopping(deadlineNanos: deadline, failed: true)
        return .killRemaining
    }

    public var isStopped: Bool {
        if case .stopped = self { return true }
        return false
    }

    /// Restarts happen only while running.
    public var restartsWorkers: Bool { self == .running }

    /// The supervisor's exit status once stopped: 0 only when every worker
    /// stopped cleanly on a signal.
    public var exitCode: Int32 {
        if case .stopped(let failed) = self { return failed ? 1 : 0 }
        return 1
    }
}
