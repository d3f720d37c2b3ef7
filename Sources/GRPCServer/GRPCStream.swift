import CNghttp2
import GRPCWire

/// One gRPC call on an HTTP/2 stream: its request headers, inbound message
/// reassembly, and the queue of outbound messages that nghttp2 pulls from.
public final class GRPCStream {
    /// Where the call is in its life. Only forward transitions exist.
    enum Phase {
        /// HEADERS still arriving.
        case receivingHeaders
        /// Response headers submitted; messages flow.
        case open
        /// Trailers go out once the queued messages have.
        case finishing(GRPCStatus)
        /// Trailers (or Trailers-Only) submitted; nghttp2 will close the stream.
        case ended
        /// nghttp2 closed the stream; the object is about to be dropped.
        case closed
    }

    // Stored properties are laid out in declaration order: the small ones
    // sit together, next to `id` or after `deframer`, where they fill what
    // would be padding. With 10,000 connections of one call each, every 16
    // bytes of this object is 160 KB (malloc rounds it up to 16).
    public let id: Int32
    /// The client sent END_STREAM.
    public internal(set) var inboundClosed = false
    /// The grpc-status this call's trailers carried; nil while none were
    /// submitted (a call the client cancelled, or whose connection died, ends
    /// without), which the metrics count as CANCELLED.
    public internal(set) var statusSent: GRPCStatusCode?
    /// The connection, unretained: safe because the connection owns its
    /// streams and reports them all closed before it goes away. The
    /// per-message paths use `_withUnsafeGuaranteedRef` on it, which spares
    /// the retain and release that even an unowned(unsafe) load gets around
    /// each call (callgrind: ~40 instructions a pair, four pairs per frame).
    let connectionRef: Unmanaged<HTTP2Connection>
    public var connection: HTTP2Connection { connectionRef.takeUnretainedValue() }
    /// The method, e.g. `/tickwire.v1.PriceStream/StreamPrices` (set when the
    /// request headers are complete and valid).
    public internal(set) var path = ""
    /// Free for the delegate: which RPC this is, in its own numbering.
    public var handlerTag = 0
    /// The `tickwire-stream-duration` metadata value, if the client sent one.
    /// Like the two below, readable while the call opens
    /// (GRPCServerDelegate.rpcOpened); nil afterwards.
    public var requestedDuration: String? { headers?.streamDuration }
    /// The `tickwire-stream-messages` metadata value, if the client sent one.
    public var requestedMessages: String? { headers?.streamMessages }
    /// The call's deadline from `grpc-timeout`, in nanoseconds from when its
    /// headers arrived; nil when the client set none. Malformed values never
    /// get this far (the call is refused with INTERNAL).
    public var requestedTimeoutNanos: Int64? { headers?.grpcTimeout.flatMap(GRPCTimeout.nanoseconds) }
    /// Request messages delivered to the delegate, so far.
    public internal(set) var requestMessageCount = 0

    var phase: Phase = .receivingHeaders {
        // Rare (a few times per call), so the connection's count of streams
        // owing trailers is kept here rather than at every assignment.
        didSet {
            let was = oldValue.owesTrailers, owes = phase.owesTrailers
            if was != owes { connection.backlog.finishingStreams += owes ? 1 : -1 }
        }
    }
    /// The request headers until the call has opened (or been refused); nil after.
    var headers: RequestHeaders? = RequestHeaders()
    /// The request's trailer block so far, counted as `RequestHeaders.listBytes` is.
    var trailerListBytes = 0
    var outbound = OutboundQueue()
    var deframer: MessageDeframer
    /// nghttp2 parked this stream's data provider (NGHTTP2_ERR_DEFERRED).
    var dataDeferred = false
    /// The client's flow-control window has let at least one byte of this
    /// stream out.
    private(set) var hasTakenData = false
    /// Not a byte taken, and the window was found closed with data waiting
    /// (HTTP2Connection.noteWindowsNeverOpened): the engine judges such a
    /// stream slow from a few KiB instead of the soft limit.
    public internal(set) var windowNeverOpened = false
    /// Cut with its window closed: RST_STREAM follows the trailers (GRPCStream+Cut).
    var resetAfterTrailers = false

    init(id: Int32, connection: HTTP2Connection, maxReceiveMessageBytes: Int) {
        self.id = id
        self.connectionRef = Unmanaged.passUnretained(connection)
        self.deframer = MessageDeframer(limit: maxReceiveMessageBytes)
    }

    /// True while messages can still be queued.
    public var isOpen: Bool {
        if case .open = phase { return true }
        return false
    }

    /// The final HEADERS (trailers) have been handed to nghttp2, or the stream is gone.
    public var trailersSent: Bool {
        switch phase {
        case .ended, .closed: return true
        case .receivingHeaders, .open, .finishing: return false
        }
    }

    /// Bytes queued and not yet handed to HTTP/2.
    public var backlogBytes: Int { outbound.pendingBytes }

    /// What happened to a message handed to `send` (shared with the engine,
    /// which queues on streams without knowing they are gRPC's).
    public typealias SendOutcome = StreamSendOutcome

    /// Queues `message` behind the ones already waiting. The bytes are shared,
    /// not copied.
    @discardableResult
    public func send(_ message: WireMessage) -> SendOutcome {
        guard case .open = phase else { return .notOpen }
        // A single large message on an empty queue is not a slow reader.
        let limit = connectionRef._withUnsafeGuaranteedRef { $0.limits.maxStreamBacklogBytes }
        if outbound.pendingBytes > 0 && outbound.pendingBytes + message.count > limit {
            abandon(GRPCStatus(.resourceExhausted, "client too slow: more than \(limit) bytes queued"))
            return .overflowed
        }
        outbound.append(message)
        // Checked against the connection's limit at flush.
        connectionRef._withUnsafeGuaranteedRef { $0.backlog.queued(message.count) }
        wakeDataProvider(urgent: false)  // a message alone may linger (--flush-linger)
        return .queued
    }

    /// Ends the call with `status` once everything queued has gone out.
    /// Ends a stream whose reader fell too far behind: what is queued and
    /// not yet started is dropped, so the trailers go out right after the
    /// message on the wire instead of behind megabytes the client will not read.
    public func abandon(_ status: GRPCStatus) {
        guard case .open = phase else { return }
        let hub = connection.hub
        if let quiet = hub.slowStreamLog.admit(nowNanos: hub.monotonicNanos) {
            var metadata = ["stream": "\(id)", "peer": connection.peer, "backlog_bytes": "\(outbound.pendingBytes)",
                            "status": status.message]
            if quiet > 0 { metadata["also_ended_unlogged"] = "\(quiet)" }
            hub.log(.warning, "stream too slow; ending it", metadata)
        }
        cut(status)
    }

    public func finish(_ status: GRPCStatus) {
        switch phase {
        case .open:
            phase = .finishing(status)
            wakeDataProvider()
        case .receivingHeaders:
            connection.submitTrailersOnly(self, status: status, httpStatus: "200")
        case .finishing, .ended, .closed:
            break
        }
    }

    /// The stream is gone: its queue goes, and leaves the connection's total.
    func discardQueued() {
        connection.backlog.queued(-outbound.pendingBytes)
        outbound.removeAll()
    }

    func wakeDataProvider(urgent: Bool = true) {
        connectionRef._withUnsafeGuaranteedRef { connection in
            if dataDeferred {
                dataDeferred = false
                connection.resumeData(self)
            }
            connection.requestFlush(urgent: urgent)
        }
    }

    /// nghttp2's data provider: sizes one DATA frame from the queue, up to
    /// `maxLength` (the peer's windows and the frame size allow no more).
    /// The bytes are not copied here: NO_COPY has nghttp2 hand the framed
    /// payload back to `writeFrame`, which moves them from the queue into
    /// the connection's output once, instead of into nghttp2's frame buffer
    /// and then again into the output. When the queue is empty the stream
    /// is parked, or, if the call is finishing, the data ends and the
    /// trailers that carry grpc-status are submitted behind it.
    func provideData(maxLength: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        let length = min(outbound.pendingBytes, maxLength)
        if length > 0 { flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue }
        guard length == outbound.pendingBytes else { return length }
        switch phase {
        case .finishing(let status):
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
            phase = .ended
            connection.submitTrailers(self, status: status)
            return length
        default:
            if length > 0 { return length }
            dataDeferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
    }

    /// nghttp2's send_data callback for the frame `provideData` sized: its
    /// 9-byte header, then `length` bytes moved from the queue.
    ///
    /// Returns NGHTTP2_ERR_PAUSE, which ends the nghttp2_session_mem_send
    /// call, when the queue ran dry or the output passed its high-water mark.
    /// Dry: left to go on, nghttp2 would ask this stream again at once, get
    /// NGHTTP2_ERR_DEFERRED and park it, and the next trade would have to
    /// resume it; paused, the stream stays scheduled and the next trade only
    /// asks for a flush (HTTP2Connection.framesWaiting). Full: the rest waits
    /// until the socket has taken some.
    func writeFrame(header: UnsafeRawPointer, length: Int) -> Int32 {
        connectionRef._withUnsafeGuaranteedRef { connection in
            connection.output.append(UnsafeRawBufferPointer(start: header, count: 9))
            connection.output.append(count: length) { outbound.drain(into: $0) }
            connection.backlog.queued(-length)
            connection.backlog.dataBytesSent &+= UInt64(length)
            connection.pingStrikes.headersOrDataSent()
            hasTakenData = true
            windowNeverOpened = false
            guard outbound.isEmpty || connection.output.count >= connection.limits.connectionOutputHighWaterBytes else {
                return 0
            }
            connection.dataFramePaused = true
            return Int32(NGHTTP2_ERR_PAUSE.rawValue)
        }
    }
}

extension GRPCStream.Phase {
    /// Trailers are owed once the queued data is out.
    var owesTrailers: Bool {
        if case .finishing = self { return true }
        return false
    }
}
