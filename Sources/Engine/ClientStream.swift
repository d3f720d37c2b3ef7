import GRPCWire

/// A client's stream as the engine sees it: somewhere to queue encoded
/// messages, a backlog to judge the reader by, and an ending. The gRPC layer's
/// `GRPCStream` adopts it in the application layer; tests adopt it with a
/// plain object. The engine is generic over it, never existential, so the
/// per-trade walk calls `send` statically.
public protocol ClientStream: AnyObject {
    /// Messages can still be queued.
    var isOpen: Bool { get }
    /// Bytes queued and not yet taken by the transport.
    var backlogBytes: Int { get }
    /// Queues `message` behind the earlier ones; the bytes are shared, not copied.
    @discardableResult
    func send(_ message: WireMessage) -> StreamSendOutcome
    /// Ends the stream with `status` once everything queued has gone out.
    func finish(_ status: GRPCStatus)
    /// Ends a stream whose reader fell behind: what has not started going out
    /// is dropped, so the status reaches the client next.
    func abandon(_ status: GRPCStatus)
    /// Names the client connection the stream belongs to, so that limits
    /// meant for one client (--max-indicators-per-connection) count all of
    /// its streams together. Read when the stream opens, never per trade.
    var connectionKey: ObjectIdentifier { get }
    /// The reader has not taken a byte since the stream opened, and its
    /// flow-control window was found closed: it cannot take any. Such a
    /// stream is judged slow much sooner (SlowConsumerPolicy.untakenLimitBytes).
    var windowNeverOpened: Bool { get }
}

extension ClientStream {
    /// A stream that says nothing of its transport is its own connection.
    public var connectionKey: ObjectIdentifier { ObjectIdentifier(self) }
    /// A stream that says nothing of its reader is judged by the soft limit alone.
    public var windowNeverOpened: Bool { false }
}
