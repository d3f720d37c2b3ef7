import Reactor
import TLS
import MarketData

/// The one live connection to Binance, kept up whatever happens: it
/// reconnects with backoff, replaces a silent connection, and rotates before
/// Binance's 24-hour cut (or at its maintenance notice) by opening the next
/// connection before closing the current one. Trade ids decide what is new,
/// so a rotation neither loses nor repeats a trade, and a reconnect's gap is
/// counted. It is generic over the sink, so each trade is a static call.
public final class LiveFeed<Sink: TradeSink>: BinanceConnectionOwner {
    /// The feed's own state machine. Exactly one state holds the connection(s)
    /// that carry data; a connection being closed after a rotation lives in
    /// `retiring` until the server answers our close.
    enum State {
        /// Not started yet.
        case idle
        case waitingToRetry(untilNanos: Int64)
        /// An attempt is under way and nothing is streaming.
        case connecting(BinanceConnection)
        case streaming(BinanceConnection)
        /// `current` still delivers; `candidate` is being brought up, and
        /// takes over once its trades are shown to overlap current's.
        case rotating(current: BinanceConnection, candidate: BinanceConnection, reason: FeedEvent.RotationReason)
        /// Shut down: nothing reconnects.
        case closed
    }

    /// Reactor timer tags the owner routes back to `tick()` and `retryDue()`.
    public struct TimerTags: Sendable {
        public let tick: UInt64
        public let retry: UInt64
        public init(tick: UInt64, retry: UInt64) {
            self.tick = tick
            self.retry = retry
        }
    }

    public let settings: LiveFeedSettings
    public private(set) var statistics = LiveFeedStatistics()
    private(set) var state: State = .idle
    private var retiring: [BinanceConnection] = []
    private let symbols: SymbolTable
    private let target: String
    private let tlsContext: TLSClientContext
    private let reactor: Reactor
    private let tags: TimerTags
    private unowned let sink: Sink
    private unowned let observer: FeedEventObserver
    private let parser: BinanceFrameParser
    private var sequencer: TradeSequencer
    private var backoff: ReconnectBackoff
    private var nextSerial: UInt32 = 1
    /// Text messages are copied here so simdjson has its padding after them.
    private let scratch: UnsafeMutableRawBufferPointer
    private static var maxMessageBytes: Int { 1 << 20 }

    // Rotation bookkeeping.
    /// Trades the candidate delivered ahead of current: published at the switch.
    private var candidateTrades: [Trade] = []
    /// Trades delivered during the current reactor event, handed to the sink
    /// together when the event is handled (`handOver`): one walk over the
    /// streams for every trade one socket read carried.
    private var due: [Trade] = []
    /// A batch is handed over early at this size, which bounds the array when
    /// one event carries thousands of trades (a read after a long stall).
    private static var maxBatch: Int { 256 }
    private var candidateFirstID: [Int64?]
    private var switchPending = false
    private var duplicatesAtRotationStart = 0
    /// A rotation that could not start (its candidate failed) is retried then.
    private var pendingRotation: (reason: FeedEvent.RotationReason, notBeforeNanos: Int64)?
    private static var candidateBufferLimit: Int { 1 << 16 }

    // Rate limiting of skipped-frame reports, per reason.
    private var skipReports: [FeedEvent.SkipReason: (lastNanos: Int64, suppressed: Int)] = [:]

    public init(settings: LiveFeedSettings, symbols: SymbolTable, reactor: Reactor, tags: TimerTags,
                sink: Sink, observer: FeedEventObserver) throws(TLSClientContext.ConfigurationError) {
        self.settings = settings
        self.symbols = symbols
        self.target = settings.endpoint.target(symbols: symbols, stream: settings.stream)
        self.tlsContext = try TLSClientContext(extraCAFile: settings.extraCAFile)
        self.reactor = reactor
        self.tags = tags
        self.sink = sink
        self.observer = observer
        parser = BinanceFrameParser(symbols: symbols)
        sequencer = TradeSequencer(symbolCount: symbols.count)
        candidateFirstID = Array(repeating: nil, count: symbols.count)
        backoff = ReconnectBackoff(baseNanos: settings.backoffBaseNanos, capNanos: settings.backoffCapNanos)
        scratch = .allocate(byteCount: Self.maxMessageBytes + BinanceFrameParser.padding, alignment: 64)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        scratch.deallocate()
    }

    /// The full URL with its stream query, as connected to.
    public var url: String { settings.endpoint.url(target: target) }

    public func start() {
        defer { handOver() }
        guard case .idle = state else { return }
        connect(purpose: .startup)
        reactor.schedule(afterNanos: settings.tickNanos, tag: tags.tick)
    }

    // MARK: Reactor events

    public func handle(_ event: ReadyEvent) {
        defer { handOver() }
        guard let connection = connection(generation: event.token.generation) else { return }
        connection.ready(event.readiness)
        settleRotation()
    }

    public func retryDue() {
        defer { handOver() }
        guard case .waitingToRetry(let until) = state else { return }
        guard reactor.clock.monotonicNanos() >= until - 1_000_000 else {
            reactor.schedule(atNanos: until, tag: tags.retry)
            return
        }
        connect(purpose: .reconnect)
    }

    /// The maintenance timer: handshake timeouts, stale detection, our pings,
    /// the age-based rotation, and retired connections that never answered.
    public func tick() {
        defer { handOver() }
        if case .closed = state, retiring.isEmpty { return }
        let now = reactor.clock.monotonicNanos()
        for connection in activeConnections {
            if !connection.isOpen {
                if case .ended = connection.phase { continue }
                if now - connection.startedAtNanos >= settings.handshakeTimeoutNanos {
                    connection.end("no WebSocket after \(settings.handshakeTimeoutNanos / 1_000_000) ms (connect, TLS and upgrade timed out)")
                }
                continue
            }
            let silent = now - connection.lastFrameNanos
            if silent >= settings.staleTimeoutNanos {
                observer.feedEvent(.stale(connection: connection.serial, silentMs: silent / 1_000_000))
                connection.end("stale: no frame for \(silent / 1_000_000) ms")
            } else if now - connection.lastPingNanos >= settings.pingIntervalNanos {
                connection.sendPing(nowNanos: now)
            }
        }
        switch state {
        case .streaming(let current):
            let age = now - current.openedAtNanos
            // A rotation that failed waits out its backoff, which must keep growing.
            if age >= settings.healthyAfterNanos && pendingRotation == nil { backoff.reset() }
            if let pending = pendingRotation {
                if now >= pending.notBeforeNanos { startRotation(reason: pending.reason) }
            } else if age >= settings.maxConnectionAgeNanos {
                startRotation(reason: .maxAge)
            }
        case .rotating(_, let candidate, _):
            if candidate.isOpen, now - candidate.openedAtNanos >= settings.rotationOverlapTimeoutNanos {
                switchPending = true  // no overlap proven in time: switch anyway, gaps get counted
            } else if !candidate.isOpen, now - candidate.startedAtNanos >= settings.handshakeTimeoutNanos {
                candidate.end("rotation candidate did not open in time")
            }
        default:
            break
        }
        for connection in retiring where now - connection.closingSinceNanos >= settings.closeTimeoutNanos {
            connection.end("no close reply within \(settings.closeTimeoutNanos / 1_000_000) ms")
        }
        settleRotation()
        reactor.schedule(afterNanos: settings.tickNanos, tag: tags.tick)
    }

    /// Shutdown: close every connection with code 1000 (then close_notify);
    /// nothing reconnects afterwards.
    public func close() {
        defer { handOver() }
        let now = reactor.clock.monotonicNanos()
        let open = activeConnections
        state = .closed
        for connection in open {
            retiring.append(connection)
            connection.beginClose(reason: "tickwire shutting down", nowNanos: now)
        }
    }

    /// Ends whatever is still open, at once (the stop deadline passed).
    public func terminate() {
        defer { handOver() }
        let open = activeConnections + retiring
        state = .closed
        for connection in open { connection.end("server stopped") }
    }

    /// True while a connection is still closing (the server waits for it).
    public var hasOpenConnections: Bool { !activeConnections.isEmpty || !retiring.isEmpty }

    // MARK: Connection lifecycle

    private var activeConnections: [BinanceConnection] {
        switch state {
        case .connecting(let c), .streaming(let c): return [c]
        case .rotating(let current, let candidate, _): return [current, candidate]
        case .idle, .waitingToRetry, .closed: return []
        }
    }

    private func connection(generation: UInt32) -> BinanceConnection? {
        switch state {
        case .connecting(let c) where c.generation == generation,
             .streaming(let c) where c.generation == generation:
            return c
        case .rotating(let current, _, _) where current.generation == generation:
            return current
        case .rotating(_, let candidate, _) where candidate.generation == generation:
            return candidate
        default:
            return retiring.first { $0.generation == generation }
        }
    }

    private func makeConnection(purpose: FeedEvent.Purpose) -> Result<BinanceConnection, BinanceConnection.StartError> {
        let serial = nextSerial
        nextSerial &+= 1
        observer.feedEvent(.connecting(connection: serial, url: url, failures: backoff.failures, purpose: purpose))
        do {
            return .success(try BinanceConnection(serial: serial, endpoint: settings.endpoint, target: target,
                                                  context: tlsContext, reactor: reactor, owner: self))
        } catch {
            return .failure(error)
        }
    }

    private func connect(purpose: FeedEvent.Purpose) {
        switch makeConnection(purpose: purpose) {
        case .success(let connection):
            state = .connecting(connection)
        case .failure(let error):
            scheduleRetry(after: nextSerial &- 1, reason: error.reason, retryAfterSeconds: nil, wasStreaming: false)
        }
    }

    private func scheduleRetry(after serial: UInt32, reason: String, retryAfterSeconds: Int?, wasStreaming: Bool) {
        let delay = backoff.nextDelay(unit: Double.random(in: 0..<1),
                                      retryAfterNanos: retryAfterSeconds.map { Int64($0) * 1_000_000_000 })
        let until = reactor.clock.monotonicNanos() + delay
        state = .waitingToRetry(untilNanos: until)
        pendingRotation = nil  // it was for the connection that just ended
        reactor.schedule(atNanos: until, tag: tags.retry)
        if wasStreaming {
            observer.feedEvent(.connectionLost(connection: serial, reason: reason, retryInMs: delay / 1_000_000))
        } else {
            observer.feedEvent(.connectionFailed(connection: serial, reason: reason, retryInMs: delay / 1_000_000,
                                                 failures: backoff.failures))
        }
    }

    private func startRotation(reason: FeedEvent.RotationReason) {
        guard case .streaming(let current) = state else { return }
        pendingRotation = nil
        switch makeConnection(purpose: .rotation) {
        case .success(let candidate):
            state = .rotating(current: current, candidate: candidate, reason: reason)
            candidateTrades.removeAll(keepingCapacity: true)
            for index in candidateFirstID.indices { candidateFirstID[index] = nil }
            switchPending = false
            duplicatesAtRotationStart = sequencer.duplicatesDropped
            observer.feedEvent(.rotationStarted(reason: reason, connection: current.serial, candidate: candidate.serial))
        case .failure(let error):
            retryRotationLater(reason: reason, failed: nextSerial &- 1, why: error.reason)
        }
    }

    private func retryRotationLater(reason: FeedEvent.RotationReason, failed serial: UInt32, why: String) {
        let delay = backoff.nextDelay(unit: Double.random(in: 0..<1))
        pendingRotation = (reason, reactor.clock.monotonicNanos() + delay)
        observer.feedEvent(.connectionFailed(connection: serial, reason: why, retryInMs: delay / 1_000_000,
                                             failures: backoff.failures))
    }

    /// Hands over from current to candidate once that is safe (or forced):
    /// current is closed with 1000, and the candidate's early trades go out
    /// through the sequencer, which drops what current already delivered.
    private func settleRotation() {
        guard switchPending, case .rotating(let current, let candidate, _) = state else {
            switchPending = false
            return
        }
        switchPending = false
        promote(candidate, retiring: current, proven: true)
    }

    private func promote(_ candidate: BinanceConnection, retiring current: BinanceConnection?, proven: Bool) {
        state = .streaming(candidate)
        pendingRotation = nil
        if let current {
            retiring.append(current)
            current.beginClose(reason: "rotated to a newer connection", nowNanos: reactor.clock.monotonicNanos())
        }
        let buffered = candidateTrades
        candidateTrades.removeAll(keepingCapacity: true)
        for trade in buffered { deliver(trade) }
        statistics.rotations += 1
        observer.feedEvent(.rotationComplete(from: current?.serial ?? 0, to: candidate.serial,
                                             duplicatesDropped: sequencer.duplicatesDropped - duplicatesAtRotationStart,
                                             proven: proven))
    }

    // MARK: BinanceConnectionOwner

    func connectionDidOpen(_ connection: BinanceConnection) {
        statistics.connectionsOpened += 1
        let handshakeMs = (connection.openedAtNanos - connection.startedAtNanos) / 1_000_000
        observer.feedEvent(.connected(connection: connection.serial, tlsVersion: connection.tlsVersion,
                                      handshakeMs: handshakeMs))
        switch state {
        case .connecting(let c) where c === connection:
            state = .streaming(connection)
        case .rotating(_, let candidate, _) where candidate === connection:
            // Wait for a trade on both (holdCandidate), even when nothing was
            // delivered yet: current may have trades in flight. A quiet market
            // switches at the overlap timeout instead, losing nothing.
            break
        default:
            break
        }
    }

    func connection(_ connection: BinanceConnection, didReceiveText message: UnsafeRawBufferPointer) {
        statistics.messagesReceived += 1
        // An empty frame reaches us with no base address (wslay has nothing to flatten).
        guard message.count > 0, message.count <= Self.maxMessageBytes, let bytes = message.baseAddress else {
            reportSkip(.malformed, connection: connection)
            return
        }
        scratch.baseAddress!.copyMemory(from: bytes, byteCount: message.count)
        let frame = parser.parse(scratch.baseAddress!, length: message.count, capacity: scratch.count,
                                 ingestUnixNanos: connection.ingestUnixNanos)
        let role = self.role(of: connection)
        switch frame {
        case .trade(let trade):
            switch role {
            case .current:
                deliver(trade)
                // Current just delivered a trade the candidate also holds: see holdCandidate.
                if case .rotating = state, let first = candidateFirstID[trade.symbolIndex], trade.tradeID >= first {
                    switchPending = true
                }
            case .candidate:
                holdCandidate(trade)
            case .retired:
                break
            }
        case .serverShutdown(let eventTimeMs):
            observer.feedEvent(.serverShutdownNotice(connection: connection.serial, eventTimeMs: eventTimeMs))
            if role == .current {
                if case .streaming = state { startRotation(reason: .serverShutdown) }
            }
        case .ignored:
            reportSkip(.unknownEvent, connection: connection)
        case .unknownSymbol:
            reportSkip(.unknownSymbol, connection: connection)
        case .malformed:
            reportSkip(.malformed, connection: connection)
        }
    }

    func connectionDidReceiveBinary(_ connection: BinanceConnection) {
        statistics.messagesReceived += 1
        reportSkip(.binary, connection: connection)
    }

    func connection(_ connection: BinanceConnection, didEndWith reason: String, retryAfterSeconds: Int?) {
        if let index = retiring.firstIndex(where: { $0 === connection }) {
            retiring.remove(at: index)
            return
        }
        let wasOpen = connection.openedAtNanos != 0
        switch state {
        case .connecting(let c) where c === connection,
             .streaming(let c) where c === connection:
            scheduleRetry(after: connection.serial, reason: reason, retryAfterSeconds: retryAfterSeconds,
                          wasStreaming: wasOpen)
        case .rotating(let current, let candidate, _) where current === connection:
            observer.feedEvent(.connectionLost(connection: connection.serial, reason: reason, retryInMs: nil))
            if candidate.isOpen {
                promote(candidate, retiring: nil, proven: false)
            } else {
                state = .connecting(candidate)
            }
        case .rotating(let current, let candidate, let rotationReason) where candidate === connection:
            state = .streaming(current)
            candidateTrades.removeAll(keepingCapacity: true)
            retryRotationLater(reason: rotationReason, failed: candidate.serial, why: reason)
        default:
            break
        }
    }

    // MARK: Trades

    private enum Role { case current, candidate, retired }

    private func role(of connection: BinanceConnection) -> Role {
        switch state {
        case .connecting(let c) where c === connection, .streaming(let c) where c === connection:
            return .current
        case .rotating(let current, _, _) where current === connection:
            return .current
        case .rotating(_, let candidate, _) where candidate === connection:
            return .candidate
        default:
            return .retired
        }
    }

    /// The one way a live trade reaches the sink: through the sequencer.
    private func deliver(_ trade: Trade) {
        switch sequencer.admit(symbolIndex: trade.symbolIndex, tradeID: trade.tradeID) {
        case .duplicate:
            statistics.duplicatesDropped += 1
            return
        case .afterGap(let missing, let lastID):
            statistics.gapTrades += missing
            observer.feedEvent(.gap(symbol: symbols.upperCased[trade.symbolIndex], missingTrades: missing,
                                    lastID: lastID, nextID: trade.tradeID))
        case .first, .next:
            break
        }
        statistics.tradesPublished += 1
        due.append(trade)
        if due.count >= Self.maxBatch { handOver() }
    }

    /// Every public entry point ends here, so no trade waits past the event
    /// that delivered it.
    private func handOver() {
        switch due.count {
        case 0: return
        case 1: sink.publish(due[0])
        default: sink.publish(batch: due)
        }
        due.removeAll(keepingCapacity: true)
    }

    /// A candidate's trade during a rotation: held until the switch.
    ///
    /// The switch is safe once one trade has been seen on both connections.
    /// Both streams are in Binance's order, and the candidate holds everything
    /// from its first trade on; a trade on both means current has already
    /// delivered everything before the candidate's first trade, of every
    /// symbol. (Per-symbol continuity alone is not enough: current may still
    /// carry other symbols' trades from before the candidate started.)
    private func holdCandidate(_ trade: Trade) {
        if candidateFirstID[trade.symbolIndex] == nil { candidateFirstID[trade.symbolIndex] = trade.tradeID }
        candidateTrades.append(trade)
        if sequencer.hasDelivered(symbolIndex: trade.symbolIndex, tradeID: trade.tradeID)
            || candidateTrades.count >= Self.candidateBufferLimit {
            switchPending = true
        }
    }

    private func reportSkip(_ reason: FeedEvent.SkipReason, connection: BinanceConnection) {
        statistics.skippedFrames += 1
        statistics.skippedFramesByReason[reason, default: 0] += 1
        let now = reactor.clock.monotonicNanos()
        var report = skipReports[reason] ?? (lastNanos: now - 2_000_000_000, suppressed: 0)
        if now - report.lastNanos >= 1_000_000_000 {
            observer.feedEvent(.frameSkipped(reason: reason, connection: connection.serial,
                                             skippedTotal: statistics.skippedFrames, suppressed: report.suppressed))
            report = (now, 0)
        } else {
            report.suppressed += 1
        }
        skipReports[reason] = report
    }
}
