/// Hands out WireMessages for the per-trade path, reusing ones that every
/// stream has finished with, so that encoding a trade allocates nothing once
/// the server is warm.
///
/// A ring of slots is walked one slot per message. A slot's message is reused
/// when the ring holds its only reference (every stream sent or dropped it;
/// normally within the iteration that queued it) and it is large enough.
/// Otherwise a new message takes the slot and the old one lives on with the
/// streams still holding it: a burst longer than the ring, or a lagging
/// stream, costs an allocation, never a wait or a copy.
public struct WireMessageRecycler {
    private var ring: [WireMessage]
    private var next = 0
    private let minimumPayloadCapacity: Int
    /// Messages allocated because the slot's message was still in use or too small.
    public private(set) var allocations = 0

    /// `slots` should cover the messages one loop iteration produces;
    /// `minimumPayloadCapacity` the usual message size, so most fit any slot.
    public init(slots: Int = 1024, minimumPayloadCapacity: Int = 128) {
        precondition(slots > 0)
        self.minimumPayloadCapacity = minimumPayloadCapacity
        ring = (0..<slots).map { _ in WireMessage(payloadCount: 0, minimumPayloadCapacity: minimumPayloadCapacity) { _ in } }
    }

    public mutating func message(payloadCount: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) -> WireMessage {
        let slot = next
        next = next + 1 == ring.count ? 0 : next + 1
        if isKnownUniquelyReferenced(&ring[slot]), WireMessage.prefixLength + payloadCount <= ring[slot].capacity {
            ring[slot].rewrite(payloadCount: payloadCount, fill: fill)
            return ring[slot]
        }
        allocations += 1
        let fresh = WireMessage(payloadCount: payloadCount, minimumPayloadCapacity: minimumPayloadCapacity, fill: fill)
        ring[slot] = fresh
        return fresh
    }
}
