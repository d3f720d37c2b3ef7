import CTickwireShim
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
    /// Every accepted connection, by the slot in its token.
    private(set) var slots: ConnectionSlots<HTTP2Connection>
    private var pendingFlush: [HTTP2Connection] = []
    /// Some connection in pendingFlush has more than messages waiting.
    private var urgentFlushPending = false
    /// The batch being flushed now (see flushPending).
    private var flushing: [HTTP2Connection] = []
    /// --flush-linger's per-connection windows; the application sets the budget.
    public var messageHold = MessageHold(budgetNanos: 1_000_000)
    /// A queued message arrived since the last flush pass.
    private var messagesArrived = false
    /// When the earliest held window must end, as of the last pass.
    private var heldDeadlineNanos = Int64.max
    /// The last flushPending wrote (or tried to write) some connection.
    public private(set) var lastPassWrote = false
    /// How --flush-linger's windows ended (MessageHold): at an arrival, at
    /// the budget, or early, taken along by urgent output.
    public private(set) var holdWindowsEnded = HoldWindowCounts()
    /// Connections whose output waits for this iteration's io_uring
    /// submission (ConnectionHub+BatchedSends.swift); a send's tag is its index.
    var batched: [HTTP2Connection] = []
    /// io_uring_enter failed for sends once: the ring's state is unknown, so
    /// it is never used again and writes go through sendmsg.
    var sendBatchAbandoned = false
    /// Set while io_uring send results are delivered: closes wait in
    /// `deferredCloses` until every result is in (ConnectionHub+Phase.swift).
    var closesDeferred = false
    var deferredCloses: [(HTTP2Connection, reason: String, notifyPeer: Bool)] = []
    let readBuffer: UnsafeMutableRawBufferPointer
    /// What every connection's nghttp2 session allocates through: glibc's
    /// malloc, counted (nghttp2_memory.c), so that what libnghttp2 holds per
    /// connection is a figure rather than a guess, and one frame buffer for
    /// all sessions (GRPCLimits.sharedFrameBuffer).
    let nghttp2Allocator: OpaquePointer
    /// Bytes every connection's streams have queued (ConnectionBacklog keeps
    /// it), checked against --max-queued-bytes (ConnectionHub+MemoryBudget).
    let serverQueuedBytes: UnsafeMutablePointer<Int>
    /// Bytes allocated by every connection's output buffer (OutputBuffer),
    /// counted in the same --max-queued-bytes budget as the queues: framed
    /// output a client does not read is memory it holds just the same.
    /// Every connection's output memory, lent only while it holds bytes
    /// (OutputBufferPool). A pointer for the same reason as serverQueuedBytes.
    let outputBuffers: UnsafeMutablePointer<OutputBufferPool>
    /// Output buffer memory allocated, lent to connections or idle in the pool.
    public var outputAllocatedBytes: Int { outputBuffers.pointee.allocatedBytes }
    /// Bytes held for request messages still arriving (MessageDeframer),
    /// all streams: in the budget too, as an announced message is cheap to
    /// send and its buffer is not.
    public internal(set) var inboundHeldBytes = 0
    /// Calls on all connections, from their first HEADERS until nghttp2
    /// closes them (--max-streams bounds it).
    public internal(set) var openStreams = 0
    /// Calls refused because `openStreams` was at --max-streams.
    public internal(set) var streamsRefused = 0
    /// `stream too slow; ending it` at most 20 times a second (the count of
    /// slow streams is in the metrics either way).
    var slowStreamLog = LogBurstLimit(burst: 20)
    /// Streams ended because the server's queued bytes passed the budget.
    public internal(set) var memoryBudgetCuts = 0
    /// Connections closed because their unread output was the largest
    /// holding when the budget was spent.
    public internal(set) var memoryBudgetClosedConnections = 0
    private let logSink: LogSink
    /// Set when the listener serves TLS (`--tls-cert`); nil for h2c.
    private let tlsContext: TLSServerContext?
    /// The keepalive sweep (ConnectionHub+Keepalive.swift): one timer for
    /// every connection, armed while any connection is open.
    var sweepTimer: TimerID?
    /// The handshake sweep (ConnectionHub+Handshake.swift), armed while a
    /// connection has yet to finish its handshake.
    var handshakeTimer: TimerID?
    /// When the current accept batch began: connections accepted since may
    /// not be evicted for a newer one (HandshakeDeadline.oldestUnfinished).
    var acceptBatchStartNanos = Int64.max
    /// Connections closed for a handshake too slow or to free their slot.
    public internal(set) var handshakeClosed = 0
    /// Connections accepted and given a slot.
    public private(set) var connectionsAccepted = 0
    /// Connections closed on accept: every slot taken (--max-connections), none could give way.
    public private(set) var connectionsRefusedAtLimit = 0
    /// Connections closed on accept because their setup failed (a TLS session, registration).
    public private(set) var connectionsRefusedSetupFailed = 0
    /// Draws each connection's --max-connection-age jitter.
    private var jitterSource = SystemRandomNumberGenerator()
    /// What keepalive did to connections, for the metrics.
    public internal(set) var keepaliveEvents: [KeepaliveEvent: Int] = [:]

    public var connectionCount: Int { slots.count }
    /// Connections closed by the write-idle sweep (ConnectionHub+WriteIdle).
    public internal(set) var writeIdleClosed = 0
    /// Set when stopping: a connection whose session has ended is half-closed
    /// and read to EOF instead of being closed at once, until this deadline
    /// (the stop deadline) at the latest.
    public var lingerDeadlineNanos: Int64?
    /// The delegate's method paths, which requests naming them share.
    let methodPaths: [String]
    public var boundAddress: ListenAddress? { listener?.boundAddress }
    public var isAccepting: Bool { listener != nil }
    public var servesTLS: Bool { tlsContext != nil }

    /// The hub's timers (owner `.connections`) come back through the reactor
    /// handler's `timerFired`, which passes them to `timerFired(_:)` here.
    public init(reactor: Reactor, limits: GRPCLimits, delegate: any GRPCServerDelegate,
                tls: TLSServerContext? = nil, log: @escaping LogSink) {
        self.reactor = reactor
        self.tlsContext = tls
        self.limits = limits
        self.delegate = delegate
        self.methodPaths = delegate.methodPaths
        self.logSink = log
        slots = ConnectionSlots(capacity: limits.maxConnections, kind: .connection)
        // One read buffer for all connections: nghttp2 consumes every byte we
        // hand it before returning, so nothing needs to persist between reads.
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        serverQueuedBytes = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        serverQueuedBytes.initialize(to: 0)
        outputBuffers = UnsafeMutablePointer<OutputBufferPool>.allocate(capacity: 1)
        outputBuffers.initialize(to: OutputBufferPool())
        // Room in the session pages for every connection the hub admits
        // (reserved address space: a page costs memory once a session uses it).
        guard let allocator = tw_nghttp2_allocator_new(limits.sharedFrameBuffer ? 1 : 0,
                                                      limits.responseHeaderTableBytes == 0 ? 1 : 0,
                                                      limits.maxConnections) else {
            fatalError("out of memory for nghttp2's allocator")
        }
        nghttp2Allocator = allocator
    }

    deinit {
        precondition(connectionCount == 0 && listener == nil, "ConnectionHub released with open sockets")
        readBuffer.deallocate()
        serverQueuedBytes.deallocate()
        outputBuffers.pointee.freeAll()
        outputBuffers.deinitialize(count: 1)
        outputBuffers.deallocate()
        tw_nghttp2_allocator_del(nghttp2Allocator)
    }

    /// Bytes libnghttp2 holds for every connection's session (glibc's
    /// usable sizes, so malloc's rounding is in and its 8-byte headers are not).
    public var nghttp2LiveBytes: Int { Int(tw_nghttp2_allocator_counts(nghttp2Allocator).live_bytes) }

    func log(_ level: LogLevel, _ message: String, _ metadata: [String: String] = [:]) {
        logSink(level, message, metadata)
    }

    var monotonicNanos: Int64 { reactor.clock.monotonicNanos() }

    /// `reusePort`: share the address with the other `--workers` processes.
    public func listen(on address: ListenAddress, reusePort: Bool = false) throws(SystemError) {
        let listener = try TCPListener(address: address, reusePort: reusePort)
        listener.sendBufferBytes = Int32(clamping: limits.socketSendBufferBytes)
        try reactor.register(fd: listener.fd, token: EventToken(kind: .listener), interest: .read)
        self.listener = listener
        armWriteIdleSweep()
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
        acceptBatchStartNanos = monotonicNanos
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
        guard let connection = slots.lookup(event.token) else { return }
        if !connection.transportReady {
            advanceHandshake(connection)
            guard connection.transportReady else { return }
        }
        if event.readiness.contains(.writable) { flush(connection) }
        if event.readiness.contains(.readable) || event.readiness.contains(.hangup) { read(connection) }
    }

    /// Flushes every connection that has output waiting. Called once per
    /// reactor iteration, before it sleeps. `holdingMessages` (--flush-linger)
    /// leaves a connection that has only queued messages waiting until its
    /// window ends (MessageHold); the others go out now, their messages
    /// included. Returns when the earliest window still holding must end,
    /// nil when none is.
    @discardableResult
    public func flushPending(holdingMessages: Bool = false) -> Int64? {
        if isOverMemoryBudget { trimToMemoryBudget() }
        let arrival = messagesArrived
        messagesArrived = false
        lastPassWrote = false
        guard !pendingFlush.isEmpty else { return nil }
        var nowNanos: Int64 = 0
        if holdingMessages {
            nowNanos = monotonicNanos
            if arrival { messageHold.arrived(atNanos: nowNanos) }
            // Between arrivals, nothing new can end a window before its deadline.
            guard arrival || urgentFlushPending || nowNanos >= heldDeadlineNanos else { return heldDeadlineNanos }
        }
        // Two arrays swapped, not a copy: a copy would make removeAll
        // allocate a fresh buffer every iteration. Flushing can schedule
        // more flushes; those land in the emptied pendingFlush.
        swap(&pendingFlush, &flushing)
        urgentFlushPending = false
        heldDeadlineNanos = .max
        // `flushing` holds every connection until the loop is done, so each
        // is read at +0 (a retain and release per connection otherwise), and
        // emptied from the back: removeAll(keepingCapacity:) costs ~400
        // instructions per call however few it holds (callgrind).
        for index in flushing.indices {
            Unmanaged.passUnretained(flushing[index])._withUnsafeGuaranteedRef { connection in
                if holdingMessages, holds(connection, nowNanos: nowNanos, atArrival: arrival) { return }
                lastPassWrote = true
                flushOne(connection)
            }
        }
        while !flushing.isEmpty { flushing.removeLast() }
        sendBatched()
        return heldDeadlineNanos == .max ? nil : heldDeadlineNanos
    }

    /// --flush-linger: keeps `connection`'s messages for a later pass unless
    /// its window ends now or it has more than messages to send.
    @inline(__always)
    private func holds(_ connection: HTTP2Connection, nowNanos: Int64, atArrival: Bool) -> Bool {
        guard !connection.flushUrgent, !connection.phase.isClosed else {
            if connection.heldSinceNanos != nil { holdWindowsEnded.early &+= 1 }
            return false
        }
        let opened: Int64
        if let since = connection.heldSinceNanos {
            opened = since
        } else {
            opened = nowNanos
            connection.heldSinceNanos = opened
        }
        if messageHold.windowEnds(openedAtNanos: opened, nowNanos: nowNanos, atArrival: atArrival,
                                  slot: Int(connection.token.slot)) {
            if atArrival { holdWindowsEnded.atArrival &+= 1 } else { holdWindowsEnded.atBudget &+= 1 }
            return false
        }
        pendingFlush.append(connection)  // still requested; its turn comes when its window ends
        heldDeadlineNanos = min(heldDeadlineNanos, messageHold.deadline(openedAtNanos: opened))
        return true
    }

    @inline(__always)
    private func flushOne(_ connection: HTTP2Connection) {
        connection.flushRequested = false
        connection.flushUrgent = false
        connection.heldSinceNanos = nil
        guard connection.phase.writesOutput else { return }
        let serving = connection.phase.servesSession
        // Before the writability check: a full socket is exactly when queues grow.
        if serving && connection.isOverBacklogLimit {
            connection.trimBacklog { delegate.rpcTooSlow($0) }
        }
        // A full socket is retried on EPOLLOUT, not on every new message;
        // a failed session is flushed now, and that flush closes it.
        guard !connection.watchingWritable || !serving else { return }
        if sendBatch != nil, serving, connection.sendsThroughBatch {
            _ = prepareBatchedSend(connection)
        } else {
            flush(connection)
        }
    }

    public var hasPendingFlush: Bool { !pendingFlush.isEmpty }
    /// Output other than lingering messages is waiting.
    public var hasUrgentFlush: Bool { urgentFlushPending }

    func scheduleFlush(_ connection: HTTP2Connection, urgent: Bool = true) {
        guard !connection.phase.isClosed else { return }
        if urgent {
            connection.flushUrgent = true
            urgentFlushPending = true
        } else {
            messagesArrived = true
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
        forEachConnection { apply($0.phase.closeRequested(reason), to: $0) }
    }

    /// Total bytes waiting in connection output buffers.
    public var bufferedOutputBytes: Int {
        var total = 0
        forEachConnection { total += $0.output.count }
        return total
    }

    /// `body` may close the connection it is given.
    public func forEachConnection(_ body: (HTTP2Connection) -> Void) {
        for index in 0..<slots.capacity {
            if let connection = slots.occupant(atSlot: index) { body(connection) }
        }
    }

    // MARK: Internals

    /// Internal rather than private for fuzz/grpc_connection, which hands
    /// it one end of a socketpair: the whole accepted-connection path without
    /// a listener or a TCP handshake per input.
    func adopt(_ fd: Int32) {
        let peer = PeerAddress.describe(fd: fd)
        // Full: a connection still in its handshake gives way before a new one is refused.
        guard let token = slots.reserve() ?? (reclaimUnfinishedSlot() ? slots.reserve() : nil) else {
            log(.warning, "connection limit reached; closing new connection",
                ["max_connections": "\(limits.maxConnections)", "peer": peer])
            connectionsRefusedAtLimit += 1
            closeDescriptor(fd)
            return
        }
        do {
            let connection = try makeConnection(fd: fd, token: token, peer: peer)
            try reactor.register(fd: fd, token: token, interest: .read)
            slots.fill(token, with: connection)
            scheduleFlush(connection)  // our SETTINGS go out first
            armSweep()
            armHandshakeSweep()
            connectionsAccepted += 1
            log(.debug, "connection accepted", ["slot": "\(token.slot)", "peer": peer, "connections": "\(connectionCount)"])
        } catch {
            log(.error, "could not set up connection", ["error": "\(error)", "peer": peer])
            connectionsRefusedSetupFailed += 1
            slots.cancel(token)
            closeDescriptor(fd)
        }
    }

    /// Frees a closed connection's slot (ConnectionHub+Phase.swift, teardown).
    func releaseSlot(_ token: EventToken) {
        slots.release(token)
    }

    private func makeConnection(fd: Int32, token: EventToken, peer: String) throws(ConnectionSetupError) -> HTTP2Connection {
        let tls: TLSConnection?
        do {
            tls = try tlsContext.map { context throws(TLSClientContext.ConfigurationError) in
                try TLSConnection(serverContext: context, fd: fd)
            }
        } catch {
            throw .tls("\(error)")
        }
        let jitter = ConnectionAge.jitter(forAge: limits.keepalive.maxConnectionAgeNanos, using: &jitterSource)
        return try HTTP2Connection(fd: fd, token: token, peer: peer, limits: limits, hub: self, tls: tls,
                                   openedAtNanos: monotonicNanos, ageJitterNanos: jitter)
    }

    private func read(_ connection: HTTP2Connection) {
        if connection.phase.isLingering {
            if HalfClose.discardInput(fd: connection.fd, scratch: readBuffer) == .finished {
                apply(connection.phase.peerClosed(), to: connection)
            }
            return
        }
        // One socket read per event for h2c (level-triggered epoll comes
        // back for the rest). TLS reads at most one record per call, so it
        // reads on until the session would block, bounded for fairness.
        let reads = connection.tls == nil ? 1 : 64
        for _ in 0..<reads where connection.phase.servesSession {
            switch connection.readInput(into: readBuffer) {
            case .wouldBlock:
                return
            case .endOfStream:
                apply(connection.phase.peerClosed(), to: connection)
            case .bytes(let count):
                if let failure = connection.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])) {
                    apply(connection.phase.failed(failure), to: connection)
                }
            case .failed(let reason):
                apply(connection.phase.failed(reason), to: connection)
            }
        }
    }

    /// Drives a TLS handshake with whatever readiness arrived; on completion
    /// the SETTINGS submitted at accept time get flushed.
    private func advanceHandshake(_ connection: HTTP2Connection) {
        guard let tls = connection.tls, connection.phase.servesSession else { return }
        switch tls.handshake() {
        case .transferred:
            setWritableInterest(connection, false)
            scheduleFlush(connection)
            log(.debug, "TLS handshake complete", [
                "slot": "\(connection.token.slot)", "version": tls.protocolVersion,
                "alpn": tls.negotiatedProtocol ?? "none",
            ])
        case .wantRead:
            setWritableInterest(connection, false)
        case .wantWrite:
            setWritableInterest(connection, true)
        case .closed:
            apply(connection.phase.peerClosed("TLS handshake: the client closed the connection"), to: connection)
        case .failed(let reason):
            log(.info, "TLS handshake failed", ["slot": "\(connection.token.slot)", "peer": connection.peer, "reason": "\(reason)"])
            apply(connection.phase.failed("TLS handshake failed: \(reason)"), to: connection)
        }
    }

    /// One flush of `connection`'s output; the phase decides what follows.
    func flush(_ connection: HTTP2Connection) {
        guard connection.phase.writesOutput else { return }
        let result = connection.flush()
        // The common case, once per connection per iteration: an open
        // connection wrote everything and watches nothing. The machine would
        // answer "stop watching writable", which changes nothing; skipping the
        // round trip saves ~50 instructions per delivered message (callgrind).
        if case .drained = result, case .open = connection.phase, !connection.watchingWritable { return }
        apply(connection.phase.outputFlushed(result, lingerDeadlineNanos: lingerDeadlineNanos), to: connection)
    }
}
