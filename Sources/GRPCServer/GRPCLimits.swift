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
    /// Output buffered per connection before we stop pulling frames from
    /// nghttp2 and wait for the socket to drain.
    public var connectionOutputHighWaterBytes = 256 * 1024

    public init() {}
}
