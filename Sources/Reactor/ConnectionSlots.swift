/// A listener's accepted connections, in slots allocated once at startup.
/// Each slot carries a generation that travels in the connection's
/// EventToken: when a slot is reused, tokens handed out for its previous
/// occupant (an event already queued by epoll, a late timer) no longer match.
///
/// Adopting is two steps, `reserve` then `fill`, because a connection is
/// built with its token; `cancel` returns a reserved slot whose setup failed.
///
/// Inlinable so that each listener gets a copy specialised for its own
/// connection type: lookups stay direct calls with no generic metadata.
public struct ConnectionSlots<Connection: AnyObject> {
    @usableFromInline let kind: EventSourceKind
    @usableFromInline var occupants: [Connection?]
    @usableFromInline var generations: [UInt32]
    /// Free slot numbers; the lowest is on top, so slots fill from 0.
    @usableFromInline var free: [UInt32]
    /// Occupied slots.
    public private(set) var count = 0

    public init(capacity: Int, kind: EventSourceKind) {
        precondition(capacity > 0 && capacity <= Int(UInt32.max), "connection slots need a capacity of at least one")
        self.kind = kind
        occupants = Array(repeating: nil, count: capacity)
        generations = Array(repeating: 0, count: capacity)
        free = (0..<UInt32(capacity)).reversed()
    }

    public var capacity: Int { occupants.count }
    public var isFull: Bool { free.isEmpty }

    /// Takes a free slot and moves it to its next generation. nil when every
    /// slot is taken: the caller refuses the connection.
    public mutating func reserve() -> EventToken? {
        guard let slot = free.popLast() else { return nil }
        let index = Int(slot)
        precondition(occupants[index] == nil, "a free slot is occupied")
        // 24 bits: the token packs the generation next to the kind byte.
        generations[index] = (generations[index] &+ 1) & 0xFF_FFFF
        return EventToken(kind: kind, slot: slot, generation: generations[index])
    }

    /// Places the connection built for `token` (from `reserve`).
    public mutating func fill(_ token: EventToken, with connection: Connection) {
        let index = Int(token.slot)
        precondition(generations[index] == token.generation && occupants[index] == nil,
                     "filling a slot that was not reserved for this token")
        occupants[index] = connection
        count += 1
    }

    /// Gives back a slot reserved for a connection that could not be set up.
    public mutating func cancel(_ token: EventToken) {
        precondition(occupants[Int(token.slot)] == nil, "cancelling an occupied slot")
        free.append(token.slot)
    }

    /// The connection `token` was issued for, or nil when the token is stale
    /// (its slot was released, and perhaps reused since).
    @inlinable
    public func lookup(_ token: EventToken) -> Connection? {
        let index = Int(token.slot)
        guard token.kind == kind, index < occupants.count, generations[index] == token.generation else { return nil }
        return occupants[index]
    }

    /// Empties the slot of the connection holding `token`. Its descriptor
    /// must already be closed: the slot can be reused at once.
    public mutating func release(_ token: EventToken) {
        let index = Int(token.slot)
        precondition(lookup(token) != nil, "releasing a slot this token does not hold")
        occupants[index] = nil
        free.append(token.slot)
        count -= 1
    }

    /// The connection in slot `index`, if any. Walks go by index rather than
    /// through a closure over the table: the walk's body may close the
    /// connection and release its slot, which would conflict with an access
    /// to the table held open for the walk (and copying the table instead
    /// would make that release copy the array).
    @inlinable
    public func occupant(atSlot index: Int) -> Connection? {
        occupants[index]
    }
}
