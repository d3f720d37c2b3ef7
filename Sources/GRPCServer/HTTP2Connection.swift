import CNghttp2
import CTickwireShim
import Reactor
import TLS
import GRPCWire

/// One accepted HTTP/2 connection, h2c or over TLS: an nghttp2 server session
/// fed from the socket and drained into a bounded output buffer. nghttp2
/// never touches the socket; the hub does all reads and writes.
public final class HTTP2Connection {
    public let token: EventToken
    /// The client's `ip:port` (PeerAddress), for every log line about it.
    public let peer: String
    /// The TLS session when the listener serves TLS; nil for h2c.
    let tls: TLSConnection?
    /// Bytes may flow: always for h2c, after the handshake for TLS.
    var transportReady: Bool { tls?.handshakeComplete ?? true }
    /// The hub's limits, read through it: a copy in every connection would
    /// be 217 bytes each (issue 22, memory per connection).
    var limits: GRPCLimits { hubRef._withUnsafeGuaranteedRef { $0.limits } }
    /// The hub, unretained: it owns every connection and outlives it, and
    /// this reference is followed once per queued message (a checked unowned
    /// reference costs an atomic retain and release each time). The
    /// per-message paths use `_withUnsafeGuaranteedRef` on it, without the
    /// retain and release even an unowned(unsafe) load gets around a call
    /// (GRPCStream.connectionRef).
    let hubRef: Unmanaged<ConnectionHub>
    var hub: ConnectionHub { hubRef.takeUnretainedValue() }
    /// Where the connection is in its life. Changed only through its
    /// transitions, whose actions the hub applies (ConnectionHub.apply).
    var phase = ConnectionPhase.open
    // Stored properties are laid out in declaration order, so the small ones
    // sit here and after `idleWatch`, in what would be padding: 10,000
    // connections make each 16 bytes of this object 160 KB (malloc rounds
    // every block up to 16).
    public let fd: Int32
    /// The client preface and its first SETTINGS arrived (after the TLS
    /// handshake, on a TLS listener): the connection has earned its slot
    /// (HandshakeDeadline).
    var handshakeFinished = false
    /// Bytes arrived since the hub's last sweep: the peer is alive.
    var heardFromPeer = false
    /// Our ENHANCE_YOUR_CALM GOAWAY is submitted: say so once.
    var calmRequested = false
    private(set) var session: OpaquePointer?
    private(set) var streams = StreamTable()
    var output = OutputBuffer()
    /// Running totals of what the streams have waiting (ConnectionBacklog).
    var backlog = ConnectionBacklog()
    /// The write-idle sweep's view of this connection.
    var idleWatch = WriteIdleWatch()
    /// Queued in the hub's list of connections to flush this iteration.
    var flushRequested = false
    /// Something other than a queued message is waiting (a handshake, an
    /// ACK, headers, trailers): it goes out even while messages linger
    /// (--flush-linger), and takes this connection's messages with it.
    var flushUrgent = false
    /// While --flush-linger holds messages: when this connection's window
    /// opened (MessageHold), nil while it holds none.
    var heldSinceNanos: Int64?
    /// nghttp2_session_mem_send returned a frame; nghttp2 finishes its
    /// bookkeeping (and may frame more) on the next call.
    var frameUnfinished = false
    /// The client's connection-level flow-control window: what DATA may
    /// still send (HTTP2Connection+Data).
    var sendWindow: Int32 = 65_535
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE
    /// as nghttp2 last applied them (RFC 9113 §6.5.2's initial values first).
    var peerInitialWindow: Int32 = 65_535
    var peerMaxFrameBytes: Int32 = 16_384
    /// Where in the stream table's order the next DATA pass over several
    /// streams starts (HTTP2Connection+Data.writeStreamData).
    var dataPassStart = 0
    /// Takes the WINDOW_UPDATE frames out of the input for the DATA path.
    var inboundFrames = InboundFrameSplitter()
    /// EPOLLOUT is part of the registration (output is waiting on the socket).
    var watchingWritable = false
    // Keepalive (HTTP2Connection+Keepalive.swift).
    /// Monotonic time of the accept.
    let openedAtNanos: Int64
    var keepaliveProbe: KeepaliveProbe
    var age: ConnectionAge
    var pingStrikes: PingStrikePolicy
    // Abuse guards (HTTP2Connection+Abuse.swift).
    var headerBudget: HeaderBlockBudget
    var streamOrder = ClientStreamOrder()
    var resetRate: StreamResetRate

    public var openStreamCount: Int { streams.count }

    /// `ageJitterNanos` spreads --max-connection-age (ConnectionAge.jitter).
    init(fd: Int32, token: EventToken, peer: String = "unknown", limits: GRPCLimits, hub: ConnectionHub, tls: TLSConnection?,
         openedAtNanos: Int64, ageJitterNanos: Int64) throws(ConnectionSetupError) {
        self.fd = fd
        self.token = token
        self.peer = peer
        self.tls = tls
        self.hubRef = Unmanaged.passUnretained(hub)
        backlog.serverQueuedBytes = hub.serverQueuedBytes
        output.pool = hub.outputBuffers
        self.openedAtNanos = openedAtNanos
        keepaliveProbe = KeepaliveProbe(limits.keepalive, openedAtNanos: openedAtNanos)
        age = ConnectionAge(limits.keepalive, openedAtNanos: openedAtNanos, jitterNanos: ageJitterNanos)
        pingStrikes = PingStrikePolicy(limits.keepalive)
        headerBudget = HeaderBlockBudget(listLimitBytes: limits.maxHeaderListBytes)
        resetRate = StreamResetRate(burst: limits.streamResetBurst, perSecond: limits.streamResetsPerSecond,
                                    nowNanos: openedAtNanos)
        session = try NGHTTP2Session.makeServer(for: self)
        try submitSettings()
    }

    deinit {
        precondition(session == nil, "HTTP2Connection released with a live nghttp2 session")
    }

    var delegate: any GRPCServerDelegate { hub.delegate }

    // MARK: Input

    /// Feeds bytes read from the socket. Returns why the session cannot
    /// continue (the peer is not speaking HTTP/2, or flooded us), or nil.
    func receive(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let session else { return "the HTTP/2 session is gone" }
        heardFromPeer = true
        var failure: Int32 = 0
        _ = inboundFrames.split(bytes) { piece in
            switch piece {
            case .bytes(let chunk):
                let consumed = nghttp2_session_mem_recv(session, chunk.bindMemory(to: UInt8.self).baseAddress, chunk.count)
                guard consumed < 0 else { return .taken }
                failure = Int32(consumed)
                return .stop
            case .windowUpdate(let streamID, let increment):
                return windowUpdateReceived(streamID: streamID, increment: increment) ? .taken : .forward
            }
        }
        if failure != 0 {
            if let abuse = abuseReason(failure) {
                calmDownAfterFailedInput(abuse)
                return nil
            }
            let reason = String(cString: nghttp2_strerror(failure))
            logFatalInput(failure, reason: reason, bytes)
            return "HTTP/2 error: \(reason)"
        }
        requestFlush()
        return nil
    }

    /// A client that never spoke HTTP/2 is routine noise (debug); a flood is
    /// worth an operator's attention (warning).
    private func logFatalInput(_ error: Int32, reason: String, _ bytes: UnsafeRawBufferPointer) {
        switch error {
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue:
            hub.log(.debug, "not an HTTP/2 client; closing", [
                "slot": "\(token.slot)", "peer": peer, "looks_like": ForeignPreface.guess(bytes),
            ])
        case NGHTTP2_ERR_FLOODED.rawValue:
            hub.log(.warning, "HTTP/2 flood; closing the connection", ["slot": "\(token.slot)", "peer": peer, "error": reason])
        default:
            break
        }
    }

    // MARK: Output

    /// Pulls frames from nghttp2 into the output buffer and writes them, until
    /// both are empty or the socket is full.
    func flush() -> ConnectionPhase.FlushResult {
        guard let session else { return .sessionEnded }
        guard transportReady else { return .drained }  // SETTINGS wait for the TLS handshake
        while true {
            if let failure = fillOutput() { return .failed(failure) }
            if output.isEmpty { break }
            switch writeOutput() {
            case .sent(let count):
                if let outcome = wrote(count) { return outcome }
            case .blocked:
                return .blocked
            case .failed(let reason):
                return .failed(reason)
            }
        }
        if nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 {
            return .sessionEnded
        }
        return .drained
    }

    /// Fills the output buffer, up to the high-water mark: nghttp2's frames
    /// (control frames, headers, trailers), all of them first, then DATA
    /// written by the streams (HTTP2Connection+Data), then nghttp2 again for
    /// any trailers that DATA made due. Returns nghttp2's error, if it had
    /// one. Each frame is copied out before the next call: its bytes may be
    /// in the frame buffer every session shares (GRPCLimits.sharedFrameBuffer),
    /// which debug builds scribble over after every fill to prove nothing
    /// reads them back.
    func fillOutput() -> String? {
        guard let session else { return nil }
        defer { assert({ tw_nghttp2_allocator_scribble_frame_buffer(hub.nghttp2Allocator); return true }()) }
        defer { assert(tw_nghttp2_allocator_encoder_ring_untouched(hub.nghttp2Allocator) == 1,
                       "a session wrote into the shared HPACK encoder ring (nghttp2_memory.c)") }
        let highWater = hubRef._withUnsafeGuaranteedRef { $0.limits.connectionOutputHighWaterBytes }
        while output.count < highWater {
            // nghttp2 finishes a returned frame's bookkeeping on its next
            // call, and only a 0 from it says nothing is left mid-frame.
            while frameUnfinished || nghttp2_session_get_outbound_queue_size(session) > 0 {
                var chunk: UnsafePointer<UInt8>?
                let length = nghttp2_session_mem_send(session, &chunk)
                if length < 0 { return "nghttp2_session_mem_send: \(String(cString: nghttp2_strerror(Int32(length))))" }
                guard length > 0, let chunk else {
                    frameUnfinished = false
                    break
                }
                output.append(UnsafeRawBufferPointer(start: chunk, count: length))
                frameUnfinished = true
                if output.count >= highWater { return nil }
            }
            guard backlog.streamsWaiting, writeStreamData(highWater: highWater) else { break }
        }
        if backlog.queuedBytes > 0 { noteWindowsNeverOpened() }
        return nil
    }

    /// Streams left with data after nghttp2 took what it could, that have
    /// never sent a byte because the client's window is closed: a client
    /// that opens calls with zero windows (issue 20) costs the fan-out a
    /// full soft limit's worth of trades per call unless they are known.
    private func noteWindowsNeverOpened() {
        for stream in streams.values where !stream.hasTakenData && !stream.windowNeverOpened && stream.backlogBytes > 0 {
            if remoteWindowIsClosed(for: stream) { stream.windowNeverOpened = true }
        }
    }

    /// Accounts `count` bytes as on the socket. Returns `.blocked` when some
    /// output is left (the socket took less), nil when all of it went.
    func wrote(_ count: Int) -> ConnectionPhase.FlushResult? {
        output.consume(count)
        backlog.socketBytesWritten &+= UInt64(count)
        return output.isEmpty ? nil : .blocked
    }

    /// The output can go out through io_uring: plain TCP (TLS must go
    /// through SSL_write) with a live session.
    var sendsThroughBatch: Bool { tls == nil && session != nil }

    /// `urgent: false` is for queued messages only, which may linger.
    func requestFlush(urgent: Bool = true) {
        hubRef._withUnsafeGuaranteedRef { $0.scheduleFlush(self, urgent: urgent) }
    }

    // MARK: Stream actions (called by GRPCStream)

    /// The response HEADERS, without a data provider: the DATA that follows
    /// is written by the stream (HTTP2Connection+Data), and the trailers end it.
    func submitResponseHeaders(_ stream: GRPCStream) {
        guard let session else { return }
        let result = HeaderBlock.with(HeaderBlock.responseHeaders) { nva, count in
            nghttp2_submit_headers(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, nil, nva, count, nil)
        }
        if result < 0 { failInsideSession("nghttp2_submit_headers: \(String(cString: nghttp2_strerror(result)))") }
        stream.phase = .open
        requestFlush()
    }

    func submitTrailers(_ stream: GRPCStream, status: GRPCStatus) {
        guard let session else { return }
        stream.statusSent = status.code
        _ = HeaderBlock.with(HeaderBlock.trailers(status)) { nva, count in
            nghttp2_submit_trailer(session, stream.id, nva, count)
        }
    }

    /// Ends a call that has sent nothing yet with a single HEADERS frame that
    /// carries both the response headers and grpc-status.
    func submitTrailersOnly(_ stream: GRPCStream, status: GRPCStatus, httpStatus: String) {
        guard let session else { return }
        stream.statusSent = status.code
        let fields = [(":status", httpStatus), ("content-type", "application/grpc"), HeaderBlock.acceptEncoding]
            + HeaderBlock.trailers(status)
        _ = HeaderBlock.with(fields) { nva, count in
            nghttp2_submit_response(session, stream.id, nva, count, nil)
        }
        stream.phase = .ended
        requestFlush()
    }

    // MARK: Connection phase (ConnectionPhase)

    /// The first half of the double GOAWAY: a notice that admits the streams
    /// already in flight (PROTOCOL-HTTP2.md, "GOAWAY").
    func startGracefulGoAway() {
        hub.apply(phase.drainRequested(), to: self)
    }

    /// The second half: GOAWAY with the last stream we processed.
    func sendFinalGoAway() {
        hub.apply(phase.finalGoAwayRequested(), to: self)
    }

    /// nghttp2 serialized a GOAWAY. One with an error is nghttp2 giving up on
    /// a misbehaving peer (too many resets, a protocol error, too many
    /// SETTINGS entries): the connection closes once the frame is flushed,
    /// since a peer that keeps some stream open could otherwise hold it. A
    /// graceful notice is followed by its PING.
    func goAwayFrameSent(errorCode: UInt32) {
        guard errorCode == NGHTTP2_NO_ERROR.rawValue else {
            let name = String(cString: nghttp2_http2_strerror(errorCode))
            hub.log(.warning, "GOAWAY sent to a misbehaving peer; closing", ["slot": "\(token.slot)", "peer": peer, "error": name])
            failInsideSession("GOAWAY sent: \(name)")
            return
        }
        hub.apply(phase.goAwayNoticeWritten(), to: self)
    }

    /// Only the ACK of the PING that followed the notice proves the client
    /// saw the notice; the keepalive one's ACK is just a sign of life.
    /// The client's first SETTINGS: nghttp2 accepts it only right after a
    /// valid preface, so the handshake is over.
    func clientSettingsReceived() {
        handshakeFinished = true
        peerSettingsApplied()
    }

    func pingAcknowledged(_ payload: PingPayload) {
        if payload == .drain { hub.apply(phase.drainPingAcknowledged(), to: self) }
    }

    /// A failure inside an nghttp2 callback: the hub closes the connection
    /// after the flush it schedules, once the session has returned.
    func failInsideSession(_ reason: String) {
        hub.apply(phase.sessionFailed(reason), to: self)
    }

    /// The frames the phase's actions ask for (ConnectionHub.apply).
    func submitGoAwayNotice() {
        guard let session else { return }
        _ = nghttp2_submit_shutdown_notice(session)
    }

    func submitDrainPing() {
        guard let session else { return }
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), PingPayload.drain.bytes)
    }

    /// Streams at or below the last processed id carry on; nghttp2 refuses any newer one.
    func submitFinalGoAway() {
        guard let session else { return }
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue),
                                  nghttp2_session_get_last_proc_stream_id(session),
                                  NGHTTP2_NO_ERROR.rawValue, nil, 0)
    }

    /// Reports every remaining stream closed and frees the session. The hub
    /// closes the socket (ConnectionHub.teardown).
    func releaseSession() {
        assert(phase.isClosed, "session released in \(phase)")
        for stream in streams.values { releaseInbound(stream) }
        hub.openStreams -= streams.count
        for stream in streams.values.sorted(by: { $0.id < $1.id }) where stream.phase.isLive {
            stream.phase = .closed
            stream.discardQueued()
            delegate.rpcClosed(stream)
        }
        streams.removeAll()
        assert(backlog.queuedBytes == 0 && backlog.finishingStreams == 0, "backlog totals out of step: \(backlog)")
        if let session { nghttp2_session_del(session) }
        session = nil
        output.release()
    }

    // MARK: Session events (called from the nghttp2 callbacks)

    func beginRequest(streamID: Int32) {
        let stream = GRPCStream(id: streamID, connection: self, maxReceiveMessageBytes: limits.maxReceiveMessageBytes)
        stream.sendWindow = peerInitialWindow
        stream.headers?.maxListBytes = limits.maxHeaderListBytes
        streams.insert(stream)
        hub.openStreams += 1
    }

    func header(streamID: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        streams[streamID]?.headers?.record(name: name, value: value, methodPaths: hub.methodPaths)
    }

    /// False once the stream's trailer block is over the header list limit.
    func trailerFits(streamID: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        guard let stream = streams[streamID] else { return true }
        stream.trailerListBytes += name.count + value.count + 32
        return stream.trailerListBytes <= limits.maxHeaderListBytes
    }

    func requestHeadersComplete(streamID: Int32) {
        guard let stream = streams[streamID], case .receivingHeaders = stream.phase,
              let headers = stream.headers else { return }
        defer { stream.headers = nil }  // read by the delegate as the call opens, never after
        if let rejection = headers.validate() {
            submitTrailersOnly(stream, status: rejection.status, httpStatus: rejection.httpStatus)
            return
        }
        stream.path = headers.path
        // Counted from the first HEADERS, so a refused call counts too until
        // nghttp2 closes it: the bound is on memory, which it holds meanwhile.
        if hub.openStreams > limits.maxStreams {
            hub.streamsRefused += 1
            submitTrailersOnly(stream, status: GRPCStatus(.unavailable,
                "the server is at its limit of \(limits.maxStreams) open calls (--max-streams); try again or another server"), httpStatus: "200")
            return
        }
        switch delegate.rpcOpened(stream) {
        case .accept:
            submitResponseHeaders(stream)
        case .reject(let status):
            submitTrailersOnly(stream, status: status, httpStatus: "200")
        }
    }

    func data(streamID: Int32, chunk: UnsafeRawBufferPointer) {
        guard let stream = streams[streamID], stream.phase.acceptsRequestMessages else { return }
        let heldBefore = stream.deframer.heldBytes
        defer { hub.inboundHeld(stream.deframer.heldBytes - heldBefore) }
        do {
            try stream.deframer.consume(chunk) { message in
                stream.requestMessageCount &+= 1
                delegate.rpcMessage(stream, message)
            }
        } catch {
            stream.deframer.abandon()
            switch error {
            case .tooLarge(let announced, let limit):
                stream.finish(GRPCStatus(.resourceExhausted, "request message of \(announced) bytes exceeds the limit of \(limit) bytes"))
            case .compressed:
                // A grpc-encoding we cannot decode was refused with the headers,
                // so this call declared identity (or nothing): the flag lies.
                stream.finish(GRPCStatus(.internal,
                    "a message has the compressed flag set, but the request's grpc-encoding is identity (or absent)"))
            }
        }
    }

    /// Frees what the stream holds of a request message still arriving.
    func releaseInbound(_ stream: GRPCStream) {
        let held = stream.deframer.heldBytes
        stream.deframer.abandon()
        hub.inboundHeld(-held)
    }

    /// The memory budget's cut for a request that is arriving too slowly to
    /// be worth its memory: the partial message goes and the call ends.
    func abandonPartialRequest(_ stream: GRPCStream, _ status: GRPCStatus) {
        releaseInbound(stream)
        stream.finish(status)
    }

    func endOfRequest(streamID: Int32) {
        guard let stream = streams[streamID], !stream.inboundClosed else { return }
        stream.inboundClosed = true
        guard stream.phase.acceptsRequestMessages else { return }
        if stream.deframer.hasPartialMessage {
            stream.finish(GRPCStatus(.internal, "the request ended in the middle of a message"))
            return
        }
        delegate.rpcHalfClosed(stream)
    }

    func streamClosed(streamID: Int32) {
        guard let stream = streams.remove(streamID) else { return }
        hub.openStreams -= 1
        stream.discardQueued()
        releaseInbound(stream)
        let wasLive = stream.phase.isLive
        stream.phase = .closed
        if wasLive { delegate.rpcClosed(stream) }
    }

    /// Our first SETTINGS frame.
    static func advertisedSettings(_ limits: GRPCLimits) -> [nghttp2_settings_entry] {
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                                   value: limits.maxConcurrentStreams),
            // Advisory for the client; RequestHeaders enforces it.
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                                   value: UInt32(clamping: limits.maxHeaderListBytes)),
        ]
        // Only a change is sent: a smaller table binds the client's encoder
        // to a table size update once it ACKs (GRPCLimits says why we don't).
        if limits.requestHeaderTableBytes != defaultHeaderTableBytes {
            settings.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE.rawValue),
                                                   value: limits.requestHeaderTableBytes))
        }
        return settings
    }

    /// RFC 9113, 6.5.2: SETTINGS_HEADER_TABLE_SIZE's initial value.
    static let defaultHeaderTableBytes: UInt32 = 4_096

    private func submitSettings() throws(ConnectionSetupError) {
        var settings = Self.advertisedSettings(limits)
        let result = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        if result != 0 { throw .nghttp2(call: "nghttp2_submit_settings", code: result) }
    }
}

extension GRPCStream.Phase {
    /// Not yet closed by nghttp2: the delegate still needs an rpcClosed.
    var isLive: Bool {
        if case .closed = self { return false }
        return true
    }

    var acceptsRequestMessages: Bool {
        switch self {
        case .open, .finishing: return true
        case .receivingHeaders, .ended, .closed: return false
        }
    }
}
