import GRPCWire

/// How the layer above (the fan-out engine) answers a new call.
public enum RPCAdmission {
    /// Send response headers now and keep the stream open for messages.
    case accept
    /// End the call at once with Trailers-Only and this status.
    case reject(GRPCStatus)
}

/// The gRPC layer's upward interface. Called from inside the reactor thread
/// only, never while the caller is iterating its own registry.
public protocol GRPCServerDelegate: AnyObject {
    /// A request's headers are complete and valid; `stream.path` names the method.
    func rpcOpened(_ stream: GRPCStream) -> RPCAdmission
    /// One complete request message (the bytes are valid only during the call).
    func rpcMessage(_ stream: GRPCStream, _ message: UnsafeRawBufferPointer)
    /// The client half-closed its side (END_STREAM).
    func rpcHalfClosed(_ stream: GRPCStream)
    /// The gRPC layer ended the call because its connection had more queued
    /// than --connection-hard-limit (trailers with RESOURCE_EXHAUSTED follow,
    /// then rpcClosed). Called between loop iterations' work, never mid-walk.
    func rpcTooSlow(_ stream: GRPCStream)
    /// The stream is gone (finished, reset, or its connection closed). No
    /// further calls mention it.
    func rpcClosed(_ stream: GRPCStream)
    /// A connection closed; its streams were all reported closed before this.
    func connectionClosed(_ connection: HTTP2Connection, reason: String)
    /// The `:path`s this server implements. A request naming one keeps a
    /// reference to this string instead of a copy of its own (a call's
    /// lifetime of heap, per call). Read once, when the hub is made.
    var methodPaths: [String] { get }
}

extension GRPCServerDelegate {
    public var methodPaths: [String] { [] }
}
