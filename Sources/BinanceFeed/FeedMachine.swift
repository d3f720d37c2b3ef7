/// The live feed's decisions, without a socket: when to connect, back off,
/// declare a connection stale, rotate, switch to the candidate and close.
/// Every transition takes the time as a value and returns the actions
/// LiveFeed must apply, so reconnects, stale replacement, rotation and
/// Binance's maintenance notice run in unit tests on a fake clock.
///
/// Connections are named by serial. Trade ids decide what is new (the
/// sequencer lives here), so a rotation neither loses nor repeats a trade.
///
/// The state is internal only so the transitions can be split over files
/// (FeedMachine+Rotation, FeedMachine+Tick); nothing else assigns it.
struct FeedMachine {
    var phase: FeedPhase = .idle
    /// Connections closing after a rotation or at shutdown.
    var retiring: [RetiringConnection] = []
    var backoff: ReconnectBackoff
    /// Every attempt, rotations included, spends from it.
    var budget: AttemptBudget
    var sequencer: TradeSequencer
    var cutOffWatch: SymbolCutOffWatch
    let settings: LiveFeedSettings
    /// Only for the `connecting` report.
    private let url: String
    let symbolCount: Int
    private var jitter: JitterSource
    private var nextSerial: UInt32 = 1

    init(settings: LiveFeedSettings, url: String, symbolCount: Int, jitterSeed: UInt64) {
        self.settings = settings
        self.url = url
        self.symbolCount = symbolCount
        backoff = ReconnectBackoff(baseNanos: settings.backoffBaseNanos, capNanos: settings.backoffCapNanos)
        budget = AttemptBudget(burst: settings.attemptBurst, intervalNanos: settings.attemptIntervalNanos)
        sequencer = TradeSequencer(symbolCount: symbolCount, maxPlausibleJump: settings.maxPlausibleJump)
        cutOffWatch = SymbolCutOffWatch(symbolCount: symbolCount, afterNanos: settings.cutOffAfterNanos)
        jitter = JitterSource(seed: jitterSeed)
    }

    // MARK: Connecting and backing off

    mutating func start(nowNanos: Int64) -> [FeedAction] {
        guard case .idle = phase else { return [] }
        return beginAttempt(purpose: .startup, nowNanos: nowNanos)
    }

    /// The retry timer fired.
    mutating func retryDue(nowNanos: Int64) -> [FeedAction] {
        guard case .backoff(let until) = phase else { return [] }
        // Timers may fire a little early; more than 1 ms early waits again.
        guard nowNanos >= until - 1_000_000 else { return [.scheduleRetry(atNanos: until)] }
        return beginAttempt(purpose: .reconnect, nowNanos: nowNanos)
    }

    /// The WebSocket upgrade of `serial` succeeded.
    mutating func connectionOpened(serial: UInt32, nowNanos: Int64) -> [FeedAction] {
        switch phase {
        case .connecting(var attempt) where attempt.serial == serial:
            attempt.openedAtNanos = nowNanos
            phase = .streaming(FeedPhase.Streaming(connection: attempt))
        case .rotating(var rotation) where rotation.candidate.serial == serial:
            // No switch yet, even with nothing delivered: current may have
            // trades in flight. A quiet market switches at the overlap timeout.
            rotation.candidate.openedAtNanos = nowNanos
            phase = .rotating(rotation)
        default:
            assertionFailure("connection \(serial) opened, but it is not the feed's attempt or candidate: \(phase)")
        }
        return []
    }

    /// `serial` is over, whatever the reason; its socket is already closed.
    mutating func connectionEnded(serial: UInt32, reason: String, retryAfterSeconds: Int? = nil,
                                  nowNanos: Int64) -> [FeedAction] {
        if let index = retiring.firstIndex(where: { $0.serial == serial }) {
            retiring.remove(at: index)
            return []
        }
        switch phase {
        case .connecting(let attempt) where attempt.serial == serial:
            return waitToRetry(after: attempt, reason: reason, retryAfterSeconds: retryAfterSeconds, nowNanos: nowNanos)
        case .streaming(let streaming) where streaming.connection.serial == serial:
            guard streaming.connection.reachedStreaming else {
                return waitToRetry(after: streaming.connection, reason: reason, retryAfterSeconds: retryAfterSeconds,
                                   nowNanos: nowNanos)
            }
            return retryAtOnce(after: streaming.connection, reason: reason, retryAfterSeconds: retryAfterSeconds,
                               nowNanos: nowNanos)
        case .rotating(let rotation) where rotation.current.serial == serial:
            return currentLost(rotation, reason: reason, nowNanos: nowNanos)
        case .rotating(let rotation) where rotation.candidate.serial == serial:
            return candidateFailed(rotation, reason: reason, nowNanos: nowNanos)
        default:
            assertionFailure("connection \(serial) ended, but the feed does not hold it: \(phase)")
            return []
        }
    }

    private mutating func beginAttempt(purpose: FeedEvent.Purpose, nowNanos: Int64) -> [FeedAction] {
        let attempt = newConnection(nowNanos: nowNanos)
        phase = .connecting(attempt)
        return [announce(attempt, purpose: purpose), .open(serial: attempt.serial)]
    }

    /// Every attempt is made here, so every attempt spends from the budget.
    mutating func newConnection(nowNanos: Int64) -> FeedConnection {
        defer { nextSerial &+= 1 }
        budget.spend(nowNanos: nowNanos)
        return FeedConnection(serial: nextSerial, startedAtNanos: nowNanos)
    }

    func announce(_ connection: FeedConnection, purpose: FeedEvent.Purpose) -> FeedAction {
        .report(.connecting(connection: connection.serial, url: url, failures: backoff.failures, purpose: purpose))
    }

    private mutating func waitToRetry(after connection: FeedConnection, reason: String, retryAfterSeconds: Int?,
                                      nowNanos: Int64) -> [FeedAction] {
        let delay = backoff.nextDelay(unit: jitter.nextUnit(),
                                      retryAfterNanos: retryAfterSeconds.map { Int64($0) * 1_000_000_000 })
        let until = budget.earliest(atOrAfter: nowNanos + delay)
        phase = .backoff(untilNanos: until)
        let waitMs = (until - nowNanos) / 1_000_000
        let report: FeedEvent = connection.isOpen
            ? .connectionLost(connection: connection.serial, reason: reason, retryInMs: waitMs)
            : .connectionFailed(connection: connection.serial, reason: reason, retryInMs: waitMs,
                                failures: backoff.failures)
        return [.scheduleRetry(atNanos: until), .report(report)]
    }

    /// A connection that reached streaming ended (a drop, a stall, a close,
    /// maintenance without a finished rotation): that is an ending, not a
    /// failure, so the next attempt goes out now, unless the attempt budget
    /// (or a Retry-After) says wait. Earlier failures no longer count.
    private mutating func retryAtOnce(after connection: FeedConnection, reason: String, retryAfterSeconds: Int?,
                                      nowNanos: Int64) -> [FeedAction] {
        backoff.reset()
        let floor = nowNanos + (retryAfterSeconds.map { Int64($0) * 1_000_000_000 } ?? 0)
        let until = budget.earliest(atOrAfter: floor)
        phase = .backoff(untilNanos: until)
        return [.scheduleRetry(atNanos: until),
                .report(.connectionLost(connection: connection.serial, reason: reason,
                                        retryInMs: (until - nowNanos) / 1_000_000))]
    }

    /// The next wait of the backoff, for a rotation whose candidate failed.
    mutating func nextRotationDelay() -> Int64 {
        backoff.nextDelay(unit: jitter.nextUnit())
    }

    // MARK: Shutting down

    /// Shutdown: every connection is closed with code 1000; nothing reconnects.
    mutating func shutdown(nowNanos: Int64) -> [FeedAction] {
        let open = liveSerials
        phase = .closed
        for serial in open { retiring.append(RetiringConnection(serial: serial, closingSinceNanos: nowNanos)) }
        return open.map { .close(serial: $0, reason: "tickwire shutting down") }
    }

    /// The stop deadline passed: whatever is still open ends at once.
    mutating func terminate(nowNanos: Int64) -> [FeedAction] {
        let open = liveSerials
        phase = .closed
        for serial in open { retiring.append(RetiringConnection(serial: serial, closingSinceNanos: nowNanos)) }
        return retiring.map { .end(serial: $0.serial, reason: "server stopped") }
    }

    // MARK: Queries

    /// The connections that carry (or will carry) data: current, candidate, or the attempt.
    var liveSerials: [UInt32] {
        switch phase {
        case .connecting(let attempt): return [attempt.serial]
        case .streaming(let streaming): return [streaming.connection.serial]
        case .rotating(let rotation): return [rotation.current.serial, rotation.candidate.serial]
        case .idle, .backoff, .closed: return []
        }
    }

    /// True while any connection is open or closing (the server waits for them at shutdown).
    var holdsConnections: Bool { !liveSerials.isEmpty || !retiring.isEmpty }

    /// Shut down and every close answered: the maintenance tick may stop.
    var isFinished: Bool {
        guard case .closed = phase else { return false }
        return retiring.isEmpty
    }
}
