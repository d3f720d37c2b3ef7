/// Every bound the gRPC layer enforces, set once from the configuration.
public struct GRPCLimits: Sendable {
    /// The largest request message accepted; larger gets RESOURCE_EXHAUSTED.
    public var maxReceiveMessageBytes = 4 * 1024 * 1024
    /// Advertised in SETTINGS_MAX_CONCURRENT_STREAMS.
    public var maxConcurrentStreams: UInt32 = 100
    /// Accepted connections beyond this are closed at once.
    public var maxConnections = 4096
    /// Bytes a stream may have queued before it is judged too slow and ended.
    public var maxStreamBacklogBytes = 4 * 1024 * 1024
    /// Bytes queued across all of one connection's streams (--connection-hard-limit):
    /// past it the streams with the largest backlogs end with RESOURCE_EXHAUSTED.
    /// Four streams at the stream limit: without it one connection could hold
    /// maxConcurrentStreams of those (400 MiB), though its streams share one
    /// socket and so fall behind together.
    public var maxConnectionBacklogBytes = 16 * 1024 * 1024
    /// Bytes all connections may have queued together (--max-queued-bytes):
    /// past it the largest backlogs anywhere end with RESOURCE_EXHAUSTED.
    /// The per-stream and per-connection bounds times --max-connections
    /// come to tens of GiB; this one is what keeps the process inside its
    /// memory limit.
    public var maxQueuedBytes = 256 * 1024 * 1024
    /// Open calls on all connections together (--max-streams): the fixed
    /// state of a call is memory the budget above does not count. Past it a
    /// new call is refused with UNAVAILABLE.
    public var maxStreams = 32_768
    /// A connection with output waiting that sends none of it for this long
    /// is closed (--write-idle-timeout); 0 turns the check off.
    public var writeIdleTimeoutNanos: Int64 = 30_000_000_000
    /// From accept to the client's preface and first SETTINGS, TLS handshake
    /// included (--handshake-timeout, HandshakeDeadline); slower is closed.
    public var handshakeTimeoutNanos: Int64 = 10_000_000_000
    /// Output buffered per connection before we stop pulling frames from
    /// nghttp2 and wait for the socket to drain.
    public var connectionOutputHighWaterBytes = 256 * 1024
    /// SO_SNDBUF of accepted connections (--socket-send-buffer); 0 keeps
    /// the kernel's autotuning (up to net.ipv4.tcp_wmem's maximum, 4 MiB by
    /// default, for a client that stops reading).
    public var socketSendBufferBytes = 0

    /// HPACK's dynamic table for what the client sends (our decoder's),
    /// advertised in SETTINGS_HEADER_TABLE_SIZE only when it is not HTTP/2's
    /// 4,096. A smaller one would save each connection the entries its
    /// client indexes (about 1 KiB), but it obliges the client's encoder to
    /// open its next header block with a table size update (RFC 7541, 4.2),
    /// and nghttp2 closes with COMPRESSION_ERROR a client that does not:
    /// h2spec 2.6.0 is one (95 of 146 passed at 0, against 138 at 4,096).
    public var requestHeaderTableBytes: UInt32 = 4_096

    /// Our own encoder's table (nghttp2's max deflate table size). Ours to
    /// choose, with nothing asked of the client: a StreamPrices connection
    /// gets one response, so indexing it would save a few bytes once and
    /// hold the entries for the connection's life.
    public var responseHeaderTableBytes: UInt32 = 0

    /// Every nghttp2 session serializes its frames into one shared buffer
    /// instead of a 16 KiB one of its own (nghttp2_memory.c says why that is
    /// sound): 3.4 KiB less RSS per quiet connection, 6.3 KiB per busy one,
    /// at 10,000 connections. Only for a send path that
    /// copies what nghttp2_session_mem_send returns before anything else
    /// runs, as HTTP2Connection.fillOutput does.
    public var sharedFrameBuffer = true

    // HTTP/2 abuse bounds. A peer over one of the connection-wide ones is
    // cut off; only the header list bound is per stream.

    /// Request header list size as RFC 7541 counts it (name + value + 32 per
    /// field). nghttp2 only advertises SETTINGS_MAX_HEADER_LIST_SIZE, so we
    /// count ourselves; a larger list gets RESOURCE_EXHAUSTED on its stream.
    public var maxHeaderListBytes = 16 * 1024
    /// Entries accepted in one SETTINGS frame (nghttp2's own default).
    public var maxSettingsEntries = 32
    /// SETTINGS and PING ACKs nghttp2 may hold unsent: a peer that floods
    /// either faster than it reads our answers is cut off.
    public var maxOutboundAcks = 1000
    /// CONTINUATION frames after one HEADERS; needs a libnghttp2 with the
    /// CVE-2024-28182 fix.
    public var maxContinuations = 8
    /// Token bucket on RST_STREAMs from the peer (rapid reset, CVE-2023-44487):
    /// this many at once, refilled at `streamResetsPerSecond`; past it the
    /// connection gets GOAWAY. Needs a libnghttp2 with the fix.
    public var streamResetBurst = 1000
    public var streamResetsPerSecond = 33

    /// Keepalive probes, the client PING policy and the connection age limit.
    public var keepalive = KeepalivePolicy()

    public init() {}
}
