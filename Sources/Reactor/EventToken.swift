/// What kind of thing a ready descriptor belongs to. A closed set, so the
/// dispatcher is a switch, not a table of closures.
public enum EventSourceKind: UInt8, Sendable {
    /// The gRPC listening socket.
    case listener = 1
    /// One accepted HTTP/2 connection.
    case connection = 2
    /// A market-data feed socket (Binance, later).
    case feed = 3
    /// The signalfd for SIGTERM/SIGINT.
    case signal = 4
    /// The Prometheus /metrics listening socket.
    case metricsListener = 5
    /// One accepted /metrics HTTP/1.1 connection.
    case metricsConnection = 6
    /// The `--workers` supervisor's pipe on which each worker says it listens.
    case workerReady = 7
    /// One of the DNS resolver's sockets: the reactor hands it to its DNSResolver.
    case resolver = 8
}

/// The 64-bit user datum stored with each epoll registration: kind, a slot
/// index and the slot's generation. The generation makes an event that was
/// already queued for a descriptor we closed (and whose number the kernel
/// reused) recognisably stale.
public struct EventToken: Equatable, Sendable, CustomStringConvertible {
    public let kind: EventSourceKind
    public let slot: UInt32
    public let generation: UInt32

    public init(kind: EventSourceKind, slot: UInt32 = 0, generation: UInt32 = 0) {
        precondition(generation < 1 << 24, "generation must fit in 24 bits")
        self.kind = kind
        self.slot = slot
        self.generation = generation
    }

    public init?(packed: UInt64) {
        guard let kind = EventSourceKind(rawValue: UInt8(truncatingIfNeeded: packed >> 56)) else { return nil }
        self.kind = kind
        self.generation = UInt32(truncatingIfNeeded: (packed >> 32) & 0xFF_FFFF)
        self.slot = UInt32(truncatingIfNeeded: packed)
    }

    public var packed: UInt64 {
        UInt64(kind.rawValue) << 56 | UInt64(generation) << 32 | UInt64(slot)
    }

    public var description: String { "\(kind)#\(slot).\(generation)" }
}
