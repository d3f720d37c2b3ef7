import Reactor
import TLS
import MarketData

/// The one live connection to Binance, kept up whatever happens: it
/// reconnects with backoff, replaces a silent connection, and rotates before
/// Binance's 24-hour cut (or at its maintenance notice) by opening the next
/// connection before closing the current one.
///
/// The decisions are FeedMachine's; this class is its driver. It turns
/// reactor events and connection callbacks into the machine's events, and
/// applies the actions it returns in one place (`apply`), doing the I/O. It
/// is generic over the sink, so each trade is a static call.
public final class LiveFeed<Sink: TradeSink>: BinanceConnectionOwner {
    public let settings: LiveFeedSettings
    public internal(set) var statistics = LiveFeedStatistics()
    var machine: FeedMachine
    /// The sockets behind the machine's serials: the attempt, current,
    /// candidate and those still closing.
    private var connections: [BinanceConnection] = []
    let symbols: SymbolTable
    private let target: String
    private let tlsContext: TLSClientContext
    let reactor: Reactor
    unowned let sink: Sink
    unowned let observer: FeedEventObserver
    let parser: BinanceFrameParser
    /// Text messages are copied here so simdjson has its padding after them.
    let scratch: UnsafeMutableRawBufferPointer
    static var maxMessageBytes: Int { 1 << 20 }
    /// Trades delivered during the current reactor event, handed to the sink
    /// together when the event is handled: one walk over the streams for
    /// every trade one socket read carried.
    var due: [Trade] = []
    /// A batch is handed over early at this size, which bounds the array when
    /// one event carries thousands of trades (a read after a long stall).
    private static var maxBatch: Int { 256 }
    var skipReports = SkipReportLimiter()
    /// Repairs gaps from Binance's WebSocket API (LiveFeed+Backfill.swift);
    /// nil with `--binance-api-url off`.
    var backfill: BackfillCoordinator?
    /// Receives fetched kline history (LiveFeed+Klines.swift). Held strongly:
    /// a sink that holds the feed must break that cycle itself.
    public var klineHistorySink: (any KlineHistorySink)?

    public init(settings: LiveFeedSettings, symbols: SymbolTable, reactor: Reactor,
                sink: Sink, observer: FeedEventObserver,
                backfill: BackfillSettings? = nil) throws(TLSClientContext.ConfigurationError) {
        self.settings = settings
        self.symbols = symbols
        self.target = settings.endpoint.target(symbols: symbols, stream: settings.stream)
        self.tlsContext = try TLSClientContext(extraCAFile: settings.extraCAFile)
        self.reactor = reactor
        self.sink = sink
        self.observer = observer
        parser = BinanceFrameParser(symbols: symbols)
        machine = FeedMachine(settings: settings, url: settings.endpoint.url(target: target),
                              symbolCount: symbols.count, jitterSeed: UInt64.random(in: .min ... .max))
        scratch = .allocate(byteCount: Self.maxMessageBytes + BinanceFrameParser.padding, alignment: 64)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
        if let backfill {  // nil with --binance-api-url off: gaps are then only counted
            self.backfill = BackfillCoordinator(settings: backfill, symbols: symbols, tlsContext: tlsContext,
                                                reactor: reactor, output: self)
        }
    }

    deinit {
        scratch.deallocate()
    }

    /// The full URL with its stream query, as connected to.
    public var url: String { settings.endpoint.url(target: target) }

    var nowNanos: Int64 { reactor.clock.monotonicNanos() }

    // MARK: Reactor events (each ends by handing over what became due)

    public func start() {
        defer { sink.publish(due: &due) }
        guard case .idle = machine.phase else { return }
        apply(machine.start(nowNanos: nowNanos))
        reactor.schedule(afterNanos: settings.tickNanos, FeedTimer.tick.token)
        warmUp()  // --warm-intervals: on the API connection, beside the stream's
    }

    public func handle(_ event: ReadyEvent) {
        defer { sink.publish(due: &due) }
        // The API connection shares the .feed token kind; its serials are its own range.
        if let backfill, backfill.owns(generation: event.token.generation) { return backfill.ready(event) }
        guard let connection = connections.first(where: { $0.generation == event.token.generation }) else { return }
        connection.ready(event.readiness)
        if machine.isSwitchDue { apply(machine.settleRotation(nowNanos: nowNanos)) }
    }

    func retryDue() {
        defer { sink.publish(due: &due) }
        apply(machine.retryDue(nowNanos: nowNanos))
    }

    /// The maintenance timer. Each step sees the outcome of the one before.
    func tick() {
        defer { sink.publish(due: &due) }
        if machine.isFinished { return }
        let now = nowNanos
        apply(machine.checkLiveness(nowNanos: now) { serial in self.connection(serial)?.lastFrameNanos ?? now })
        apply(machine.maintain(nowNanos: now))
        apply(machine.settleRotation(nowNanos: now))
        for change in machine.watchSymbols(nowNanos: now) { report(change) }
        backfill?.tick()  // its request deadlines, retries and idle close ride on this tick
        reactor.schedule(afterNanos: settings.tickNanos, FeedTimer.tick.token)
    }

    /// Shutdown: close every connection with code 1000 (then close_notify);
    /// nothing reconnects afterwards.
    public func close() {
        defer { sink.publish(due: &due) }
        backfill?.shutdown()  // held trades go out, and what is still missing is announced
        apply(machine.shutdown(nowNanos: nowNanos))
    }

    /// Ends whatever is still open, at once (the stop deadline passed).
    public func terminate() {
        defer { sink.publish(due: &due) }
        backfill?.shutdown()  // held trades go out, and what is still missing is announced
        apply(machine.terminate(nowNanos: nowNanos))
    }

    /// True while a connection is still closing (the server waits for it).
    public var hasOpenConnections: Bool { machine.holdsConnections || backfill?.hasConnection == true }

    // MARK: Applying the machine's actions

    func apply(_ actions: [FeedAction]) {
        for action in actions { apply(action) }
    }

    /// The one place the feed's decisions become I/O. An action may call
    /// back into the machine (a connection that ends reports it at once).
    private func apply(_ action: FeedAction) {
        switch action {
        case .open(let serial):
            open(serial)
        case .close(let serial, let reason):
            connection(serial)?.beginClose(reason: reason, nowNanos: nowNanos)
        case .end(let serial, let reason):
            connection(serial)?.end(reason)
        case .ping(let serial):
            connection(serial)?.sendPing(nowNanos: nowNanos)
        case .scheduleRetry(let atNanos):
            reactor.schedule(atNanos: atNanos, FeedTimer.retry.token)
        case .publishHeld(let trades):
            for trade in trades { publish(trade, verdict: machine.admit(trade)) }
        case .completeRotation(let from, let to, let proven, let duplicatesBefore):
            statistics.rotations += 1
            observer.feedEvent(.rotationComplete(from: from, to: to,
                                                 duplicatesDropped: machine.sequencer.duplicatesDropped - duplicatesBefore,
                                                 proven: proven))
        case .report(let event):
            observer.feedEvent(event)
        }
    }

    private func open(_ serial: UInt32) {
        do {
            connections.append(try BinanceConnection(serial: serial, endpoint: settings.endpoint, target: target,
                                                     context: tlsContext, reactor: reactor, owner: self))
        } catch {
            apply(machine.connectionEnded(serial: serial, reason: error.reason, nowNanos: nowNanos))
        }
    }

    private func connection(_ serial: UInt32) -> BinanceConnection? {
        connections.first { $0.serial == serial }
    }

    /// The socket is closed: forget it, then let the machine decide.
    func forget(_ connection: BinanceConnection) {
        connections.removeAll { $0 === connection }
    }

    /// A trade from connection `serial`: the machine says whether it is new.
    func deliver(_ trade: Trade, on serial: UInt32) {
        publish(trade, verdict: machine.tradeArrived(trade, on: serial))
    }

    /// The one way a live trade reaches the sink, after the machine's verdict.
    private func publish(_ trade: Trade, verdict: TradeVerdict) {
        switch verdict {
        case .publish:
            break
        case .duplicate:
            statistics.duplicatesDropped += 1
            return
        case .held, .ignored:
            return
        case .suspect:
            report(verdict, for: trade)
            return
        case .publishLate:
            // With backfill on, a gap's ids are the backfill's: it delivers
            // them from history, in order, or announces them missing. A late
            // live copy would repeat one, or arrive out of order.
            if backfill != nil {
                statistics.duplicatesDropped += 1
                return
            }
            report(verdict, for: trade)
        case .publishAfterReset(let suspect, _, _):
            report(verdict, for: trade)
            emit(suspect)
        case .publishAfterGap(_, let lastID), .publishAfterOutlier(_, _, let lastID):
            report(verdict, for: trade)
            // The missing ids are fetched first; this trade waits behind them.
            if let backfill, trade.tradeID > lastID + 1 { return backfill.gapFound(before: trade, lastID: lastID) }
        }
        emit(trade)
    }

    /// A trade in tape order. While its symbol is being backfilled it waits
    /// behind the history; with no gap anywhere this is one array read.
    private func emit(_ trade: Trade) {
        if let backfill, backfill.isHolding(trade.symbolIndex) { return backfill.hold(trade) }
        append(trade)
    }

    private func append(_ trade: Trade) {
        statistics.tradesPublished += 1
        enqueue(trade)
    }

    /// Queues a trade for the sink, in tape order (live, released or backfilled).
    func enqueue(_ trade: Trade) {
        due.append(trade)
        if due.count >= Self.maxBatch { sink.publish(due: &due) }
    }
}
