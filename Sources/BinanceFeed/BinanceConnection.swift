import Reactor
import TLS
import WebSocket

/// What a BinanceConnection reports to the feed that owns it.
protocol BinanceConnectionOwner: AnyObject {
    /// The WebSocket upgrade succeeded; frames may follow at once.
    func connectionDidOpen(_ connection: BinanceConnection)
    /// One complete text message; the bytes are valid only during the call.
    func connection(_ connection: BinanceConnection, didReceiveText message: UnsafeRawBufferPointer)
    func connectionDidReceiveBinary(_ connection: BinanceConnection)
    /// The connection is over (the socket is already closed).
    func connection(_ connection: BinanceConnection, didEndWith reason: String, retryAfterSeconds: Int?)
}

/// One attempt at a Binance stream: DNS lookup, TCP connect (to each address
/// in turn), TLS handshake, WebSocket upgrade, then frames until either side
/// closes. Each step is a phase; the reactor's readiness events (and its
/// resolver's answer) move it forward, and nothing ever blocks.
final class BinanceConnection: WebSocketSessionDelegate {
    enum Phase {
        /// Waiting for the reactor's resolver (a host name; an IP literal skips this).
        case resolving
        /// The non-blocking connect to one of the addresses is in flight.
        case connecting
        case tlsHandshake
        /// Sending the HTTP Upgrade request, then reading the 101.
        case upgrading(WebSocketHandshake, requestBytesSent: Int)
        case open(WebSocketSession)
        /// Our close frame is queued or sent; waiting for the server's.
        case closing(WebSocketSession)
        case ended
    }

    /// Numbers connections in logs; its low 24 bits are the event token's generation.
    let serial: UInt32
    let startedAtNanos: Int64
    private(set) var openedAtNanos: Int64 = 0
    /// When a frame of any kind last arrived (the stale detector's input).
    private(set) var lastFrameNanos: Int64
    private(set) var lastPingNanos: Int64 = 0
    private(set) var closingSinceNanos: Int64 = 0
    /// Wall-clock time of the read that completed the message now being handled.
    var ingestUnixNanos: Int64 { stream?.lastReadUnixNanos ?? 0 }
    private var stream: TLSByteStream?
    private(set) var phase: Phase

    /// The socket of the address being tried, then of the connection (-1 while resolving).
    var fd: Int32 = -1
    /// Set up once TCP connects.
    private var tls: TLSConnection?
    let endpoint: BinanceEndpoint
    private let context: TLSClientContext
    let reactor: Reactor
    /// Every address the host resolved to, tried in turn until one connects.
    var addresses = ResolvedAddresses([])
    var nextAddress = 0
    /// Why each address tried so far failed, for the attempt's log line.
    var connectFailures: [String] = []
    /// The lookup in flight while resolving, to cancel if the attempt ends first.
    var lookup: DNSLookup?
    private unowned let owner: BinanceConnectionOwner
    private var registered: Interest = .write
    /// What the current phase is waiting for, when that is not simply "read".
    private var awaiting: Interest = .write
    private var readStartNanos: Int64 = 0
    private var peerClose: String?
    /// Inside WebSocketSession.receive(): its own flush follows, so don't nest one.
    private var receiving = false

    struct StartError: Error {
        let reason: String
    }

    /// Starts the attempt: an IP literal is connected to at once; a name is
    /// handed to the reactor's resolver first. Throws when it cannot start
    /// (every address of a literal failed at once, or no lookup could begin).
    init(serial: UInt32, endpoint: BinanceEndpoint, target: String, context: TLSClientContext,
         reactor: Reactor, owner: BinanceConnectionOwner) throws(StartError) {
        self.serial = serial
        self.reactor = reactor
        self.owner = owner
        self.endpoint = endpoint
        self.context = context
        startedAtNanos = reactor.clock.monotonicNanos()
        lastFrameNanos = startedAtNanos
        let key = WebSocketHandshake.randomKey()
        pendingHandshake = WebSocketHandshake(host: endpoint.host, port: Int(endpoint.port), target: target, key: key)
        phase = .resolving
        try start()
    }

    private var pendingHandshake: WebSocketHandshake

    var generation: UInt32 { serial & 0xFF_FFFF }

    var isOpen: Bool {
        if case .open = phase { return true }
        return false
    }

    var tlsVersion: String { tls?.protocolVersion ?? "" }

    // MARK: Driving

    func ready(_ readiness: Readiness) {
        readStartNanos = reactor.clock.monotonicNanos()
        switch phase {
        case .resolving:
            return
        case .connecting:
            switch TCPConnector.outcome(fd: fd) {
            case .inProgress:
                return
            case .failed(let error):
                abandonAddress(error)
                return
            case .connected:
                guard startTLS() else { return }
            }
        case .tlsHandshake:
            driveHandshake()
        case .upgrading:
            driveUpgrade()
        case .open(let session), .closing(let session):
            driveSession(session)
        case .ended:
            return
        }
        updateInterest()
    }

    /// A connect is in flight on `socket`, registered for writability.
    func connecting(on socket: Int32) {
        fd = socket
        registered = .write
        phase = .connecting
    }

    /// TCP is up: TLS over it, then the handshake. False when the attempt ended.
    private func startTLS() -> Bool {
        do {
            tls = try TLSConnection(context: context, fd: fd, host: endpoint.host)
        } catch {
            end("\(error)")
            return false
        }
        phase = .tlsHandshake
        driveHandshake()
        return true
    }

    private func driveHandshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .transferred:
            phase = .upgrading(pendingHandshake, requestBytesSent: 0)
            driveUpgrade()
        case .wantRead:
            awaiting = .read
        case .wantWrite:
            awaiting = .write
        case .closed:
            end("TLS handshake: the server closed the connection")
        case .failed(let reason):
            end("TLS handshake failed: \(reason)")
        }
    }

    private func driveUpgrade() {
        guard case .upgrading(var handshake, var sent) = phase, let tls else { return }
        defer { if case .upgrading = phase { phase = .upgrading(handshake, requestBytesSent: sent) } }
        while sent < handshake.request.count {
            let step = handshake.request.withUnsafeBytes { tls.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch step {
            case .transferred(let count): sent += count
            case .wantRead: awaiting = .read; return
            case .wantWrite: awaiting = .write; return
            case .closed: end("the server closed the connection before the WebSocket upgrade"); return
            case .failed(let reason): end("sending the WebSocket upgrade failed: \(reason)"); return
            }
        }
        awaiting = .read
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let step = buffer.withUnsafeMutableBytes { tls.read(into: $0) }
            switch step {
            case .transferred(let count):
                let progress = buffer.withUnsafeBytes { handshake.consume(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                switch progress {
                case .needMore:
                    continue
                case .accepted(let leftover):
                    open(leftover: leftover)
                    return
                case .rejected(let rejection):
                    end("WebSocket upgrade refused: \(rejection.reason)", retryAfterSeconds: rejection.retryAfterSeconds)
                    return
                }
            case .wantRead: awaiting = .read; return
            case .wantWrite: awaiting = .write; return
            case .closed: end("the server closed the connection during the WebSocket upgrade"); return
            case .failed(let reason): end("reading the WebSocket upgrade failed: \(reason)"); return
            }
        }
    }

    private func open(leftover: [UInt8]) {
        guard let tls else { return }
        let stream = TLSByteStream(tls, clock: reactor.clock)
        self.stream = stream
        let session = WebSocketSession(transport: stream, leftover: leftover, delegate: self)
        phase = .open(session)
        openedAtNanos = reactor.clock.monotonicNanos()
        lastFrameNanos = openedAtNanos
        owner.connectionDidOpen(self)
        // TLS may already hold decrypted records that epoll will never report.
        if case .open = phase { driveSession(session) }
    }

    private func driveSession(_ session: WebSocketSession) {
        receiving = true
        let result = session.receive()
        receiving = false
        switch result {
        case .ok:
            if session.isFinished {
                end(peerClose ?? "WebSocket closed")
            }
        case .closed:
            end(peerClose ?? "the server closed the connection without a WebSocket close")
        case .failed(let reason):
            end(peerClose ?? "WebSocket failed: \(reason)")
        }
    }

    private func updateInterest() {
        let desired: Interest
        switch phase {
        case .connecting:
            desired = .write
        case .tlsHandshake, .upgrading:
            desired = awaiting
        case .open(let session), .closing(let session):
            var interest: Interest = .read
            if session.wantsWrite || tls?.readWantsWritable == true { interest.insert(.write) }
            desired = interest
        case .resolving, .ended:
            return
        }
        guard desired != registered else { return }
        do {
            try reactor.modify(fd: fd, token: token, interest: desired)
            registered = desired
        } catch {
            end("epoll: \(error)")
        }
    }

    // MARK: Commands from the feed

    /// Queues our liveness ping (the payload is the send time, for debugging).
    func sendPing(nowNanos: Int64) {
        guard case .open(let session) = phase else { return }
        lastPingNanos = nowNanos
        var stamp = nowNanos.bigEndian
        let payload = withUnsafeBytes(of: &stamp) { Array($0) }
        guard session.sendPing(payload) else { return }
        flush(session)
    }

    /// Starts the WebSocket close handshake (code 1000). The connection ends
    /// when the server answers or the feed's close timeout terminates it.
    func beginClose(reason: String, nowNanos: Int64) {
        switch phase {
        case .open(let session):
            session.close(code: 1000, reason: reason)
            phase = .closing(session)
            closingSinceNanos = nowNanos
            if !receiving { flush(session) }
        case .closing:
            return
        case .resolving, .connecting, .tlsHandshake, .upgrading:
            end("closed before it opened (\(reason))")
        case .ended:
            return
        }
    }

    private func flush(_ session: WebSocketSession) {
        switch session.flush() {
        case .ok:
            if session.isFinished { end(peerClose ?? "WebSocket closed") } else { updateInterest() }
        case .closed:
            end("the server closed the connection")
        case .failed(let reason):
            end("WebSocket write failed: \(reason)")
        }
    }

    /// Ends the connection now: close_notify if TLS is up, then the socket.
    func end(_ reason: String, retryAfterSeconds: Int? = nil) {
        if case .ended = phase { return }
        phase = .ended
        if let lookup {
            reactor.resolver?.cancel(lookup)
            self.lookup = nil
        }
        if fd >= 0 {
            try? reactor.unregister(fd: fd)
            tls?.shutdown()
            closeDescriptor(fd)
            fd = -1
        }
        owner.connection(self, didEndWith: reason, retryAfterSeconds: retryAfterSeconds)
    }

    // MARK: WebSocketSessionDelegate

    func webSocket(_ session: WebSocketSession, didReceiveText message: UnsafeRawBufferPointer) {
        owner.connection(self, didReceiveText: message)
    }

    func webSocket(_ session: WebSocketSession, didReceiveBinary message: UnsafeRawBufferPointer) {
        owner.connectionDidReceiveBinary(self)
    }

    func webSocketDidReceiveFrame(_ session: WebSocketSession) {
        lastFrameNanos = readStartNanos
    }

    func webSocket(_ session: WebSocketSession, didReceiveClose code: UInt16, reason: String) {
        peerClose = "the server closed the WebSocket with code \(code)" + (reason.isEmpty ? "" : " (\(reason))")
    }
}
