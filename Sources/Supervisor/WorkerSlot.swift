/// One of the N worker processes, as the supervisor tracks it.
struct WorkerSlot {
    /// Where the worker is in its own life.
    enum State: Equatable {
        /// Spawned; it has not said it listens yet.
        case starting(pid: Int32, sinceNanos: Int64)
        /// It said it listens.
        case listening(pid: Int32, sinceNanos: Int64)
        /// It died; respawn when the backoff ends.
        case awaitingRestart(dueNanos: Int64)
        /// Gone for good (the supervisor is stopping).
        case exited
    }

    /// Its TICKWIRE_WORKER_INDEX, 0..<N, kept across restarts.
    let index: Int
    var state: State = .exited
    /// Unexpected exits in a row, for the restart backoff.
    var consecutiveFailures = 0
    /// Times this slot was respawned after an unexpected exit.
    var restarts = 0

    init(index: Int) {
        self.index = index
    }

    var pid: Int32? {
        switch state {
        case .starting(let pid, _), .listening(let pid, _): return pid
        case .awaitingRestart, .exited: return nil
        }
    }

    var spawnedAtNanos: Int64? {
        switch state {
        case .starting(_, let since), .listening(_, let since): return since
        case .awaitingRestart, .exited: return nil
        }
    }

    var isListening: Bool {
        if case .listening = state { return true }
        return false
    }
}
