/// Who a timer belongs to. The reactor hands an expired timer to its owner,
/// as it hands a ready descriptor to the handler of its EventSourceKind; the
/// owner alone knows what its `purpose` codes mean.
public enum TimerOwner: UInt8, Sendable {
    /// The application's own timers: shutdown deadlines, batches, replay pacing.
    case server = 1
    /// The live Binance feed: its maintenance tick and its retry.
    case feed = 2
    /// The gRPC connection hub: keepalive/age sweep and write-idle sweep.
    case connections = 3
    /// The /metrics endpoint's request deadlines.
    case metrics = 4
    /// c-ares' own timeouts, handled inside the reactor.
    case resolver = 5
    /// The `--workers` supervisor: restart backoffs and the stop budget.
    case supervisor = 6
}

/// What a timer is for, carried through the heap and handed back on expiry:
/// the owner, the owner's own purpose code (an enum's raw value), and a slot
/// with its generation for owners that keep one timer per slot, like the
/// (kind, slot, generation) of an EventToken.
public struct TimerToken: Hashable, Sendable, CustomStringConvertible {
    public let owner: TimerOwner
    public let purpose: UInt8
    public let slot: UInt32
    public let generation: UInt16

    public init(owner: TimerOwner, purpose: UInt8, slot: UInt32 = 0, generation: UInt16 = 0) {
        self.owner = owner
        self.purpose = purpose
        self.slot = slot
        self.generation = generation
    }

    public var description: String { "\(owner).\(purpose)[\(slot)#\(generation)]" }
}
