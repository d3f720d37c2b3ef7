import Glibc
import Reactor
import TLS

/// Owns the gRPC listener and every accepted connection: accepts, reads,
/// flushes once per reactor iteration, and closes. Connections live in slots
/// allocated once; a slot's generation travels in the epoll token so an event
/// for a closed connection is recognised and dropped.
public final class ConnectionHub {
    /// Severity for the hub's log lines, mapped to swift-log by the delegate.
    public enum LogLevel { case debug, info, warning, error }
    public typealias LogSink = (LogLevel, String, [String: String]) -> Void

    public let limits: GRPCLimits
    unowned let delegate: any GRPCServerDelegate
    let reactor: Reactor
    private var listener: TCPListener?
    private var slots: [HTTP2Connection?]
    private var generations: [UInt32]
    private var freeSlots: [UInt32]
    private var pendingFlush: [HTTP2Connection] = []
    /// Some connection in pendingFlush has more than messages waiting.
    private var urgentFlushPending = false
    /// The batch being flushed now (see flushPending).
    private var flushing: [HTTP2Connection] = []
    /// Connections whose output waits for this iteration's io_uring
    /// submission (ConnectionHub+BatchedSends.swift); a send's tag is its index.
    var batched: [HTTP2Connection] = []
    /// io_uring_enter failed for sends once: the ring's state is unknown, so
    /// it is never used again and writes go through sendmsg.
    var sendBatchAbandoned = false
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let logSink: LogSink
    /// Set when the listener serves TLS (`--tls-cert`); nil for h2c.
    private let tlsContext: TLSServerContext?
    /// The keepalive sweep (ConnectionHub+Keepalive.swift): one timer for
    /// every connection, armed while any connection is open.
    let sweepTimerTag: UInt64
    var sweepTimer: TimerID?
    /// Draws each connection's --max-connection-age jitter.
    private var jitterSource = SystemRandomNumberGenerator()
    /// What keepalive did to connections, for the metrics.
    public internal(set) var keepaliveEvents: [KeepaliveEvent: Int] = [:]

    public private(set) var connectionCount = 0
    /// Connections closed by the write-idle sweep (ConnectionHub+WriteIdle).
    public internal(set) var writeIdleClosed = 0
    /// When stopping: a connection whose session has ended is half-closed and
    /// read to EOF instead of being closed at once. The stop deadline bounds it.
    public var lingerOnSessionEnd = false
    public var boundAddress: ListenAddress? { listener?.boundAddress }
    public var isAccepting: Bool { listener != nil }
    public var servesTLS: Bool { tlsContext != nil }

    /// `sweepTimerTag` comes back through the owner's `timerFired`, which
    /// calls `sweepTimerFired()` here.
    public init(reactor: Reactor, limits: GRPCLimits, delegate: any GRPCServerDelegate,
                tls: TLSServerContext? = nil, sweepTimerTag: UInt64, log: @escaping LogSink) {
        self.reactor = reactor
        self.sweepTimerTag = sweepTimerTag
        self.tlsContext = tls
        self.limits = limits
        self.delegate = delegate
        self.logSink = log
        slots = Array(repeating: nil, count: limits.maxConnections)
        generations = Array(repeating: 0, count: limits.maxConnections)
        freeSlots = (0..<UInt32(limits.maxConnections)).reversed()
        // One read buffer for all connections: nghttp2 consumes every byte we
        // hand it before returning, so nothing needs to persist between reads.
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        precondition(connectionCount == 0 && listener == nil, "ConnectionHub released with open sockets")
        readBuffer.deallocate()
    }

    func log(_ level: LogLevel, _ message: String, _ metadata: [String: String] = [:]) {
        logSink(level, message, metadata)
    }

    var monotonicNanos: Int64 { reactor.clock.monotonicNanos() }

    /// `reusePort`: share the address with the other `--workers` processes.
    public func listen(on address: ListenAddress, reusePort: Bool = false) throws(SystemError) {
        let listener = try TCPListener(address: address, reusePort: reusePort)
        try reactor.register(fd: listener.fd, token: EventToken(kind: .listener), interest: .read)
        self.listener = listener
    }

    /// Closes the listening socket; new connection attempts are refused.
    public func stopAccepting() {
        guard let listener else { return }
        try? reactor.unregister(fd: listener.fd)
        listener.close()
        self.listener = nil
    }

    // MARK: Events

    public func listenerReady() {
        guard let listener else { return }
        // Bounded so a connection storm cannot starve the streams already open.
        for _ in 0..<64 {
            let accepted: Int32?
            do {
                accepted = try listener.accept()
            } catch {
                log(.warning, "accept failed", ["error": "\(error)"])
                return
            }
            guard let fd = accepted else { return }
            adopt(fd)
        }
    }

    public func connectionReady(_ event: ReadyEvent) {
        guard let connection = lookup(event.token) else { return }
        if !connection.transportReady {
            advanceHandshake(connection)
            if case .closing(let reason) = connection.phase { close(connection, reason: reason) }
            guard connection.transportReady else { return }
        }
        if event.readiness.contains(.writable) { flush(connection) }
        if event.readiness.contains(.readable) || event.readiness.contains(.hangup) { read(connection) }
        if case .closing(let reason) = connection.phase { close(connection, reason: reason) }
    }

    /// Flushes every connection that has output waiting. Called once per
    /// reactor iteration, before it sleeps. `holdingMessages` (--flush-linger)
    /// leaves connections that have only queued messages waiting for a later
    /// call; the others go out now, their messages included.
    public func flushPending(holdingMessages: Bool = false) {
        guard !pendingFlush.isEmpty, !holdingMessages || urgentFlushPending else { return }
        // Two arrays swapped, not a copy: a copy would make removeAll
        // allocate a fresh buffer every iteration. Flushing can schedule
        // more flushes; those land in the emptied pendingFlush.
        swap(&pendingFlush, &flushing)
        urgentFlushPending = false
        defer { flushing.removeAll(keepingCapacity: true) }
        for connection in flushing {
            if holdingMessages && !connection.flushUrgent && connection.phase != .closed {
                pendingFlush.append(connection)  // still requested; its turn comes when the linger ends
                continue
            }
            connection.flushRequested = false
            connection.flushUrgent = false
            guard connection.phase != .closed else { continue }
            // Before the writability check: a full socket is exactly when queues grow.
            if connection.phase == .open && connection.isOverBacklogLimit {
                connection.trimBacklog { delegate.rpcTooSlow($0) }
            }
            // A full socket is retried on EPOLLOUT, not on every new message.
            guard !connection.watchingWritable else { continue }
            if sendBatch != nil, connection.phase == .open, connection.sendsThroughBatch {
                if prepareBatchedSend(connection) { continue }
            } else {
                flush(connection)
            }
            if case .closing(let reason) = connection.phase { close(connection, reason: reason) }
        }
        sendBatched()
    }

    public var hasPendingFlush: Bool { !pendingFlush.isEmpty }
    /// Output other than lingering messages is waiting.
    public var hasUrgentFlush: Bool { urgentFlushPending }

    func scheduleFlush(_ connection: HTTP2Connection, urgent: Bool = true) {
        guard connection.phase != .closed else { return }
        if urgent {
            connection.flushUrgent = true
            urgentFlushPending = true
        }
        guard !connection.flushRequested else { return }
        connection.flushRequested = true
        pendingFlush.append(connection)
    }

    /// Starts the double GOAWAY on every connection: notice plus PING now,
    /// the final GOAWAY when each PING is acknowledged.
    public func startGracefulGoAway() {
        forEachConnection { $0.startGracefulGoAway() }
    }

    /// Sends the final GOAWAY wherever the PING's ACK has not come back.
    public func sendFinalGoAway() {
        forEachConnection { $0.sendFinalGoAway() }
    }

    /// Closes every connection at once.
    public func closeAll(reason: String) {
        forEachConnection { close($0, reason: reason) }
    }

    /// Total bytes waiting in connection output buffers.
    public var bufferedOutputBytes: Int {
        var total = 0
        forEachConnection { total += $0.output.count }
        return total
    }

    public func forEachConnection(_ body: (HTTP2Connection) -> Void) {
        for slot in slots { if let connection = slot { body(connection) } }
    }

    // MARK: Internals

    /// Internal rather than private for fuzz/grpc_connection, which hands
    /// it one end of a socketpair: the whole accepted-connection path without
    /// a listener or a TCP handshake per input.
    func adopt(_ fd: Int32) {
        guard let slot = freeSlots.popLast() else {
            log(.warning, "connection limit reached; closing new connection", ["max_connections": "\(limits.maxConnections)"])
            closeDescriptor(fd)
            return
        }
        generations[Int(slot)] = (generations[Int(slot)] &+ 1) & 0xFF_FFFF
        let token = EventToken(kind: .connection, slot: slot, generation: generations[Int(slot)])
        do {
            let tls: TLSConnection?
            do {
                tls = try tlsContext.map { context throws(TLSClientContext.ConfigurationError) in
                    try TLSConnection(serverContext: context, fd: fd)
                }
            } catch {
                throw SystemError(call: "TLS setup: \(error)", errno: ENOMEM)
            }
            let jitter = ConnectionAge.jitter(forAge: limits.keepalive.maxConnectionAgeNanos, using: &jitterSource)
            let connection = try HTTP2Connection(fd: fd, token: token, limits: limits, hub: self, tls: tls,
                                                 openedAtNanos: monotonicNanos, ageJitterNanos: jitter)
            try reactor.register(fd: fd, token: token, interest: .read)
            slots[Int(slot)] = connection
            connectionCount += 1
            scheduleFlush(connection)  // our SETTINGS go out first
            armSweep()
            log(.debug, "connection accepted", ["slot": "\(slot)", "connections": "\(connectionCount)"])
        } catch {
            log(.error, "could not set up connection", ["error": "\(error)"])
            freeSlots.append(slot)
            closeDescriptor(fd)
        }
    }

    private func lookup(_ token: EventToken) -> HTTP2Connection? {
        guard Int(token.slot) < slots.count, let connection = slots[Int(token.slot)],
              connection.token == token else { return nil }
        return connection
    }

    private func read(_ connection: HTTP2Connection) {
        if case .lingering(let reason) = connection.phase {
            discardUntilEndOfStream(connection, reason: reason)
            return
        }
        // One socket read per event for h2c (level-triggered epoll comes
        // back for the rest). TLS reads at most one record per call, so it
        // reads on until the session would block, bounded for fairness.
        let reads = connection.tls == nil ? 1 : 64
        for _ in 0..<reads where connection.phase == .open {
            switch connection.readInput(into: readBuffer) {
            case .wouldBlock:
                return
            case .endOfStream:
                connection.markClosing("peer closed the connection")
            case .bytes(let count):
                _ = connection.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
            case .failed(let reason):
                connection.markClosing(reason)
            }
        }
    }

    /// Drives a TLS handshake with whatever readiness arrived; on completion
    /// the SETTINGS submitted at accept time get flushed.
    private func advanceHandshake(_ connection: HTTP2Connection) {
        guard let tls = connection.tls, connection.phase == .open else { return }
        switch tls.handshake() {
        case .transferred:
            watchWritable(connection, false)
            scheduleFlush(connection)
            log(.debug, "TLS handshake complete", [
                "slot": "\(connection.token.slot)", "version": tls.protocolVersion,
                "alpn": tls.negotiatedProtocol ?? "none",
            ])
        case .wantRead:
            watchWritable(connection, false)
        case .wantWrite:
            watchWritable(connection, true)
        case .closed:
            connection.markClosing("TLS handshake: the client closed the connection")
        case .failed(let reason):
            log(.info, "TLS handshake failed", ["slot": "\(connection.token.slot)", "reason": "\(reason)"])
            connection.markClosing("TLS handshake failed: \(reason)")
        }
    }

    func flush(_ connection: HTTP2Connection) {
        guard connection.phase == .open else { return }
        switch connection.flush() {
        case .drained:
            watchWritable(connection, false)
        case .blocked:
            watchWritable(connection, true)
        case .finished:
            if lingerOnSessionEnd {
                startLingering(connection, reason: "HTTP/2 session ended")
            } else {
                connection.markClosing("HTTP/2 session ended")
            }
        case .failed(let reason):
            connection.markClosing(reason)
        }
    }

    func watchWritable(_ connection: HTTP2Connection, _ watch: Bool) {
        guard connection.watchingWritable != watch else { return }
        connection.watchingWritable = watch
        do {
            try reactor.modify(fd: connection.fd, token: connection.token, interest: watch ? [.read, .write] : .read)
        } catch {
            connection.markClosing("epoll_ctl: \(error)")
        }
    }

    private func startLingering(_ connection: HTTP2Connection, reason: String) {
        connection.tls?.shutdown()  // close_notify before the FIN
        _ = shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering(reason)
        watchWritable(connection, false)
    }

    private func discardUntilEndOfStream(_ connection: HTTP2Connection, reason: String) {
        do {
            switch try SocketIO.read(fd: connection.fd, into: readBuffer) {
            case .bytes, .wouldBlock: return
            case .endOfStream: close(connection, reason: reason)
            }
        } catch {
            close(connection, reason: reason)
        }
    }

    func close(_ connection: HTTP2Connection, reason: String) {
        guard connection.phase != .closed else { return }
        let slot = Int(connection.token.slot)
        precondition(slots[slot] === connection, "closing a connection that does not own its slot")
        if case .lingering = connection.phase {} else { connection.tls?.shutdown() }  // lingering sent it already
        connection.releaseSession()
        try? reactor.unregister(fd: connection.fd)
        closeDescriptor(connection.fd)
        slots[slot] = nil
        freeSlots.append(UInt32(slot))
        connectionCount -= 1
        delegate.connectionClosed(connection, reason: reason)
    }
}
