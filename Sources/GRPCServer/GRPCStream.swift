import CNghttp2
import GRPCWire

/// One gRPC call on an HTTP/2 stream: its request headers, inbound message
/// reassembly, and the queue of outbound messages its DATA frames carry.
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
    /// What the client's flow-control window for this stream lets out
    /// (RFC 9113 §6.9); negative when a smaller SETTINGS_INITIAL_WINDOW_SIZE
    /// took back more than was left. Kept here, not by nghttp2, because the
    /// DATA frames do not pass through nghttp2 (HTTP2Connection+Data).
    var sendWindow: Int32 = 65_535
    /// The response HEADERS are on their way out (nghttp2 serialized them):
    /// DATA may follow them.
    var responseHeadersWritten = false
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
        connectionRef._withUnsafeGuaranteedRef {
            $0.backlog.queued(message.count)
            $0.requestFlush(urgent: false)  // a message alone may linger (--flush-linger)
        }
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
            requestDataFlush()
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

    /// Asks the connection to write: `urgent: false` for a queued message,
    /// which may linger (--flush-linger).
    func requestDataFlush(urgent: Bool = true) {
        connectionRef._withUnsafeGuaranteedRef { $0.requestFlush(urgent: urgent) }
    }

    /// Writes one DATA frame from the queue straight into the connection's
    /// output: its 9-byte header, then as many queued bytes as the client's
    /// windows and frame size allow, moved from the shared messages once.
    /// nghttp2 never sees these frames (HTTP2Connection+Data says why).
    /// Returns false when nothing could go.
    func writeDataFrame(connectionWindow: Int32, maxFrameBytes: Int32) -> Bool {
        let length = min(outbound.pendingBytes, Int(min(sendWindow, connectionWindow, maxFrameBytes)))
        guard length > 0 else { return false }
        let id = UInt32(bitPattern: self.id)
        return connectionRef._withUnsafeGuaranteedRef { connection in
            connection.output.append(count: DataFrameHeader.bytes + length) { frame in
                DataFrameHeader.write(into: frame.baseAddress!, length: length, streamID: id)
                let payload = UnsafeMutableRawBufferPointer(rebasing: frame[DataFrameHeader.bytes...])
                return DataFrameHeader.bytes + outbound.drain(into: payload)
            }
            sendWindow -= Int32(truncatingIfNeeded: length)
            connection.sendWindow -= Int32(truncatingIfNeeded: length)
            connection.backlog.queued(-length)
            connection.backlog.dataBytesSent &+= UInt64(length)
            connection.pingStrikes.headersOrDataSent()
            hasTakenData = true
            windowNeverOpened = false
            return true
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
