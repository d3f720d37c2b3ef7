import Glibc
import Reactor

/// The `/metrics` listener and its few connections, on the server's own
/// reactor. Every connection serves one request and closes; a bounded number
/// may be open at once, and each has a deadline, so a stuck or slow scraper
/// cannot hold descriptors or memory. Everything is allocated at startup.
public final class MetricsEndpoint {
    public struct Limits: Sendable {
        /// Scrape connections open at once; more are closed on accept.
        public var maxConnections = 16
        /// From accept to the last byte of the response.
        public var requestTimeoutNanos: Int64 = 5_000_000_000
        /// After the response: how long to wait for the scraper's EOF.
        public var lingerNanos: Int64 = 1_000_000_000

        public init() {}
    }

    public let limits: Limits
    private let reactor: Reactor
    /// The one deadline timer this endpoint schedules (its owner hands it back).
    static let deadlineTimer = TimerToken(owner: .metrics, purpose: 0)
    private var listener: TCPListener?
    private var slots: ConnectionSlots<ScrapeConnection>
    /// One region, `maxHeaderBytes` per slot: a request never outgrows it.
    private let inbound: UnsafeMutableRawBufferPointer
    /// Lingering reads go here; their bytes are thrown away.
    private let discard: UnsafeMutableRawBufferPointer

    public var connectionCount: Int { slots.count }
    /// Responses by outcome, for the endpoint's own metrics.
    public private(set) var scrapesServed = 0
    public private(set) var requestsRejected = 0
    /// Accepted while every slot was busy, and closed at once.
    public private(set) var connectionsRefused = 0
    /// Idle or unfinished connections closed to make room for a new one.
    public private(set) var connectionsReclaimed = 0
    /// Accept order of the next connection (ScrapeSlotReclaim).
    private var nextAcceptSerial: UInt64 = 0

    public var boundAddress: ListenAddress? { listener?.boundAddress }

    /// Its timers (owner `.metrics`) come back through the reactor handler's
    /// `timerFired`, which passes them to `timerFired(_:)` here.
    public init(reactor: Reactor, limits: Limits = Limits()) {
        precondition(limits.maxConnections > 0, "the metrics endpoint needs at least one connection slot")
        self.reactor = reactor
        self.limits = limits
        slots = ConnectionSlots(capacity: limits.maxConnections, kind: .metricsConnection)
        inbound = .allocate(byteCount: limits.maxConnections * ScrapeRequest.maxHeaderBytes, alignment: 16)
        discard = .allocate(byteCount: 4096, alignment: 16)
    }

    deinit {
        precondition(connectionCount == 0 && listener == nil, "MetricsEndpoint released with open sockets")
        inbound.deallocate()
        discard.deallocate()
    }

    public func listen(on address: ListenAddress) throws(SystemError) {
        let listener = try TCPListener(address: address, backlog: 64)
        do {
            try reactor.register(fd: listener.fd, token: EventToken(kind: .metricsListener), interest: .read)
        } catch {
            listener.close()
            throw error
        }
        self.listener = listener
    }

    /// Closes the listener and every connection (the server is stopping).
    public func close() {
        if let listener {
            try? reactor.unregister(fd: listener.fd)
            listener.close()
            self.listener = nil
        }
        forEachConnection { close($0) }
    }

    // MARK: Events

    /// Accepts what is waiting. Each new connection is read at once: a
    /// scraper sends its request right after connecting, so it is usually
    /// answered here, before a later newcomer could take its slot.
    public func listenerReady<E: MetricsExposition>(exposition: E) {
        guard let listener else { return }
        let batchStart = nextAcceptSerial
        for _ in 0..<limits.maxConnections {
            guard let fd = try? listener.accept() else { return }
            if slots.isFull { _ = reclaimSlot(protectedFromSerial: batchStart, exposition: exposition) }
            guard let connection = adopt(fd) else { continue }
            do {
                try read(connection, exposition: exposition)
            } catch {
                close(connection)
            }
        }
    }

    /// Every slot is taken: closes the connection ScrapeSlotReclaim picks.
    /// False when none may give way.
    ///
    /// A connection still reading may hold a request the loop has not read
    /// yet: its readable event can sit behind the listener's in the same
    /// batch while an attacker's connections keep arriving, and closing it
    /// then fails a real scrape (a reset before any response). So the chosen
    /// one is read first; if that moved it on (answered, or more of its
    /// request), the choice is made again. Each pass either closes one, or
    /// moves one on, which a connection can do only a few times.
    private func reclaimSlot<E: MetricsExposition>(protectedFromSerial: UInt64, exposition: E) -> Bool {
        for _ in 0..<(2 * slots.capacity + 1) {
            let candidates = (0..<slots.capacity).lazy.compactMap { index -> ScrapeSlotReclaim.Candidate? in
                self.slots.occupant(atSlot: index).map {
                    ScrapeSlotReclaim.Candidate(slot: index, phase: $0.phase, receivedBytes: $0.received,
                                                acceptSerial: $0.acceptSerial)
                }
            }
            guard let slot = ScrapeSlotReclaim.choose(candidates, protectedFromSerial: protectedFromSerial),
                  let connection = slots.occupant(atSlot: slot) else { return false }
            if connection.phase == .reading {
                let receivedBefore = connection.received
                do {
                    try read(connection, exposition: exposition)
                } catch {
                    close(connection)
                }
                if connection.phase == .closed { return true }  // it ended itself: its slot is free
                if connection.phase != .reading || connection.received != receivedBefore { continue }
            }
            // Reading what is there first: a close with unread input is a reset,
            // which could destroy a lingering response the scraper has not read.
            _ = HalfClose.discardInput(fd: connection.fd, scratch: discard)
            close(connection)
            connectionsReclaimed += 1
            return true
        }
        return false
    }

    public func connectionReady<E: MetricsExposition>(_ event: ReadyEvent, exposition: E) {
        guard let connection = slots.lookup(event.token) else { return }
        do {
            switch connection.phase {
            case .reading: try read(connection, exposition: exposition)
            case .writing: try write(connection)
            case .lingering: linger(connection)
            case .closed: break
            }
        } catch {
            close(connection)
        }
    }

    /// Closes every connection past its deadline.
    public func timerFired(_ token: TimerToken) {
        assert(token == Self.deadlineTimer, "not this endpoint's timer: \(token)")
        let now = reactor.clock.monotonicNanos()
        forEachConnection { if $0.deadlineNanos <= now { close($0) } }
    }

    /// `body` may close the connection it is given.
    private func forEachConnection(_ body: (ScrapeConnection) -> Void) {
        for index in 0..<slots.capacity {
            if let connection = slots.occupant(atSlot: index) { body(connection) }
        }
    }

    // MARK: One request

    private func adopt(_ fd: Int32) -> ScrapeConnection? {
        guard let token = slots.reserve() else {
            connectionsRefused += 1
            closeDescriptor(fd)
            return nil
        }
        let start = Int(token.slot) * ScrapeRequest.maxHeaderBytes
        let deadline = reactor.clock.monotonicNanos() + limits.requestTimeoutNanos
        let region = UnsafeMutableRawBufferPointer(rebasing: inbound[start..<start + ScrapeRequest.maxHeaderBytes])
        let connection = ScrapeConnection(fd: fd, token: token, acceptSerial: nextAcceptSerial, inbound: region, deadlineNanos: deadline)
        nextAcceptSerial += 1
        do {
            try reactor.register(fd: fd, token: token, interest: .read)
        } catch {
            slots.cancel(token)
            closeDescriptor(fd)
            return nil
        }
        slots.fill(token, with: connection)
        reactor.schedule(atNanos: deadline, Self.deadlineTimer)
        return connection
    }

    private func read<E: MetricsExposition>(_ connection: ScrapeConnection, exposition: E) throws(SystemError) {
        while connection.phase == .reading {
            guard connection.received < connection.inbound.count else {
                return respond(connection, ScrapeResponse.badRequest, rejected: true)
            }
            switch try SocketIO.read(fd: connection.fd, into: connection.freeSpace) {
            case .wouldBlock:
                return
            case .endOfStream:
                return close(connection)  // gave up before asking: nothing to answer
            case .bytes(let count):
                connection.received += count
            }
            switch ScrapeRequest.parse(connection.request) {
            case .incomplete:
                continue
            case .metrics:
                var body = [UInt8]()
                exposition.renderMetrics(into: &body)
                scrapesServed += 1
                respond(connection, ScrapeResponse.ok(body: body), rejected: false)
            case .notFound:
                respond(connection, ScrapeResponse.notFound, rejected: true)
            case .malformed, .tooLarge:
                respond(connection, ScrapeResponse.badRequest, rejected: true)
            }
        }
    }

    private func respond(_ connection: ScrapeConnection, _ response: [UInt8], rejected: Bool) {
        if rejected { requestsRejected += 1 }
        connection.output = response
        connection.phase = .writing
        do {
            try write(connection)
        } catch {
            close(connection)
        }
    }

    private func write(_ connection: ScrapeConnection) throws(SystemError) {
        guard try connection.sendPending() else {
            try setInterest(connection, .write)
            return
        }
        // All sent: half-close, then read to EOF so unread input cannot turn
        // our close into a reset that destroys the response in flight.
        HalfClose.shutDownWriting(fd: connection.fd)
        connection.output = []
        connection.phase = .lingering
        connection.deadlineNanos = min(connection.deadlineNanos, reactor.clock.monotonicNanos() + limits.lingerNanos)
        reactor.schedule(atNanos: connection.deadlineNanos, Self.deadlineTimer)
        try setInterest(connection, .read)
        linger(connection)
    }

    private func linger(_ connection: ScrapeConnection) {
        if HalfClose.discardInput(fd: connection.fd, scratch: discard) == .finished { close(connection) }
    }

    private func setInterest(_ connection: ScrapeConnection, _ interest: Interest) throws(SystemError) {
        guard connection.interest != interest else { return }
        try reactor.modify(fd: connection.fd, token: connection.token, interest: interest)
        connection.interest = interest
    }

    private func close(_ connection: ScrapeConnection) {
        guard connection.phase != .closed else { return }
        precondition(slots.lookup(connection.token) === connection, "closing a scrape connection that does not own its slot")
        try? reactor.unregister(fd: connection.fd)
        closeDescriptor(connection.fd)
        connection.phase = .closed
        slots.release(connection.token)
    }
}
