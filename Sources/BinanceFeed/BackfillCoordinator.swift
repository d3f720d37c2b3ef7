import Reactor
import TLS
import MarketData

/// Where the backfill hands its results: the live feed, which puts them on
/// the tape in order with its own trades.
protocol BackfillOutput: AnyObject {
    func backfillDeliver(_ trade: Trade)
    func backfillAnnounce(_ gap: TradeGap)
    func backfillEvent(_ event: BackfillEvent)
    func backfillKlines(_ report: KlineFetchReport)
}

/// Drives BackfillMachine: owns the WebSocket API connection (a
/// BinanceConnection like the market stream's, to `--binance-api-url`),
/// sends `trades.historical` and `klines` requests and parses the replies.
/// Cold code: it runs only while some symbol has a gap or a kline fetch waits.
final class BackfillCoordinator: BinanceConnectionOwner {
    private(set) var machine: BackfillMachine
    private var connection: BinanceConnection?
    private let tlsContext: TLSClientContext
    private let reactor: Reactor
    private unowned let output: BackfillOutput
    private let parser = HistoryReplyParser()
    /// Made on the first kline fetch: a server without warm-up never pays for it.
    private lazy var klineParser = KlineReplyParser()
    private let symbols: SymbolTable
    /// Replies are copied here so simdjson has its padding after them.
    private let scratch: UnsafeMutableRawBufferPointer
    /// A full reply of 1,000 trades is about 150 KB.
    private static var maxReplyBytes: Int { 1 << 20 }

    init(settings: BackfillSettings, symbols: SymbolTable, tlsContext: TLSClientContext, reactor: Reactor,
         output: BackfillOutput) {
        machine = BackfillMachine(settings: settings, symbolNames: symbols.upperCased)
        self.symbols = symbols
        self.tlsContext = tlsContext
        self.reactor = reactor
        self.output = output
        scratch = .allocate(byteCount: Self.maxReplyBytes + BinanceFrameParser.padding, alignment: 64)
        scratch.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        scratch.deallocate()
    }

    private var nowNanos: Int64 { reactor.clock.monotonicNanos() }

    /// True when the readiness event is for the API connection.
    func owns(generation: UInt32) -> Bool {
        connection?.generation == generation || retiring.contains { $0.generation == generation }
    }

    func ready(_ event: ReadyEvent) {
        if let connection, connection.generation == event.token.generation {
            connection.ready(event.readiness)
        } else {
            retiring.first { $0.generation == event.token.generation }?.ready(event.readiness)
        }
    }

    var hasConnection: Bool { connection != nil || !retiring.isEmpty }

    // MARK: The feed's calls

    @inline(__always)
    func isHolding(_ symbolIndex: Int) -> Bool { machine.isHolding(symbolIndex) }

    func gapFound(before trade: Trade, lastID: Int64) {
        apply(machine.gapFound(before: trade, lastID: lastID, nowNanos: nowNanos))
    }

    func hold(_ trade: Trade) {
        apply(machine.hold(trade, nowNanos: nowNanos))
    }

    /// Queues a warm-up fetch of klines (LiveFeed validated it).
    func requestKlines(_ request: KlineRequest) -> KlineFetches.Enqueued {
        let (enqueued, actions) = machine.requestKlines(request, nowNanos: nowNanos)
        apply(actions)
        return enqueued
    }

    func tick() {
        let now = nowNanos
        // An idle connection whose close Binance did not answer in 2 s is cut.
        for old in retiring where now - old.closingSinceNanos >= 2_000_000_000 { old.end("close timeout") }
        apply(machine.tick(nowNanos: now))
    }

    func shutdown() {
        apply(machine.shutdown(nowNanos: nowNanos))
        for old in retiring { old.end("shutdown") }
    }

    // MARK: Applying the machine's actions

    private func apply(_ actions: [BackfillAction]) {
        for action in actions { apply(action) }
    }

    private func apply(_ action: BackfillAction) {
        switch action {
        case .open(let serial):
            open(serial)
        case .close(let serial):
            guard let connection, connection.serial == serial else { return }
            self.connection = nil  // the machine already forgot it; its end is not news
            retiring.append(connection)  // before beginClose, which may end it at once
            connection.beginClose(reason: "idle", nowNanos: nowNanos)
        case .end(let serial, let reason):
            if let connection, connection.serial == serial { connection.end(reason) }
        case .send(let serial, let request):
            guard let connection, connection.serial == serial else { return }
            let text = Self.requestText(request, method: machine.settings.method,
                                        symbol: symbols.upperCased[request.symbolIndex])
            if !connection.sendText(text) {
                connection.end("the WebSocket API connection would not take the request")
            }
        case .deliver(let trade):
            output.backfillDeliver(trade)
        case .announce(let gap):
            output.backfillAnnounce(gap)
        case .report(let event):
            output.backfillEvent(event)
        case .sendKlines(let serial, let requestID, let request):
            guard let connection, connection.serial == serial else { return }
            if !connection.sendText(Self.klinesRequestText(request, requestID: requestID)) {
                connection.end("the WebSocket API connection would not take the klines request")
            }
        case .klines(let report):
            output.backfillKlines(report)
        }
    }

    /// Connections closed for idleness, kept until Binance answers the close.
    private var retiring: [BinanceConnection] = []

    private func open(_ serial: UInt32) {
        let endpoint = machine.settings.endpoint
        do {
            connection = try BinanceConnection(serial: serial, endpoint: endpoint, target: endpoint.path,
                                               context: tlsContext, reactor: reactor, owner: self)
        } catch {
            apply(machine.ended(serial: serial, reason: error.reason, nowNanos: nowNanos))
        }
    }

    /// `{"id":7,"method":"trades.historical","params":{"symbol":"ETHUSDT","fromId":100,"limit":1000}}`
    static func requestText(_ request: BackfillRequest, method: String, symbol: String) -> String {
        "{\"id\":\(request.requestID),\"method\":\"\(method)\",\"params\":{\"symbol\":\"\(symbol)\","
            + "\"fromId\":\(request.fromID),\"limit\":\(request.limit)}}"
    }

    /// `{"id":8,"method":"klines","params":{"symbol":"BTCUSDT","interval":"1m","limit":1000}}`,
    /// with `startTime`/`endTime` when given.
    static func klinesRequestText(_ request: KlineRequest, requestID: Int64) -> String {
        var params = "\"symbol\":\"\(request.symbol)\",\"interval\":\"\(request.interval)\",\"limit\":\(request.limit)"
        if let start = request.startTimeMs { params += ",\"startTime\":\(start)" }
        if let end = request.endTimeMs { params += ",\"endTime\":\(end)" }
        return "{\"id\":\(requestID),\"method\":\"klines\",\"params\":{\(params)}}"
    }

    // MARK: BinanceConnectionOwner

    func connectionDidOpen(_ connection: BinanceConnection) {
        apply(machine.opened(serial: connection.serial, nowNanos: connection.openedAtNanos))
    }

    func connection(_ connection: BinanceConnection, didReceiveText message: UnsafeRawBufferPointer) {
        guard connection === self.connection else { return }
        let reply: HistoryReply
        if message.count > 0, message.count <= Self.maxReplyBytes, let bytes = message.baseAddress {
            scratch.baseAddress!.copyMemory(from: bytes, byteCount: message.count)
            if routedToKlines(length: message.count, on: connection) { return }
            reply = parser.parse(scratch.baseAddress!, length: message.count, capacity: scratch.count)
        } else {
            reply = .malformed
        }
        apply(machine.replied(reply, serial: connection.serial, readUnixNanos: connection.ingestUnixNanos,
                              nowNanos: nowNanos, nowUnixMs: reactor.clock.wallUnixNanos() / 1_000_000))
    }

    /// While a kline fetch is in flight, a reply with its id is the fetch's
    /// (replies carry only the id to tell them apart); anything else is the
    /// trade backfill's, parsed as before.
    private func routedToKlines(length: Int, on connection: BinanceConnection) -> Bool {
        guard let fetch = machine.klines.inFlight else { return false }
        let reply = klineParser.parse(scratch.baseAddress!, length: length, capacity: scratch.count,
                                      symbol: fetch.request.symbol, interval: fetch.request.interval)
        guard case .inFlight(let requestID, _, _) = fetch.phase, reply.requestID == requestID else { return false }
        apply(machine.repliedKlines(reply, serial: connection.serial, nowNanos: nowNanos,
                                    nowUnixMs: reactor.clock.wallUnixNanos() / 1_000_000))
        return true
    }

    func connectionDidReceiveBinary(_ connection: BinanceConnection) {
        guard connection === self.connection else { return }
        apply(machine.replied(.malformed, serial: connection.serial, readUnixNanos: 0, nowNanos: nowNanos,
                              nowUnixMs: reactor.clock.wallUnixNanos() / 1_000_000))
    }

    func connection(_ connection: BinanceConnection, didEndWith reason: String, retryAfterSeconds: Int?) {
        retiring.removeAll { $0 === connection }
        guard connection === self.connection else { return }
        self.connection = nil
        apply(machine.ended(serial: connection.serial, reason: reason, nowNanos: nowNanos))
    }
}
