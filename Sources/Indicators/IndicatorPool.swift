/// The preallocated indicator slots and the lists threaded through them.
///
/// Every slot is on exactly one list: the free list, or the active list of the
/// symbol its indicator follows. The lists are intrusive (their links live in
/// the slots), so subscribing and unsubscribing never allocate, and a trade
/// walks only its own symbol's states. The pool owns membership and reference
/// counts; what each state computes lives in `IndicatorState`, under the same
/// slot index.
struct IndicatorPool: ~Copyable {
    /// What the pool knows about one slot.
    struct Slot {
        /// The indicator this slot computes; meaningful only while it is active.
        var key = IndicatorKey(symbol: 0, kind: .sma, period: 0)
        /// Subscriptions sharing the state; 0 exactly when the slot is free.
        var subscriberCount = 0
        /// Bumped each time the slot returns to the free list (see `IndicatorHandle`).
        /// It wraps after 2^32 reuses of one slot, far beyond a stale handle's life.
        var generation: UInt32 = 0
        /// The next slot on the same list, free or active.
        var next: Int? = nil
        /// The previous slot on the symbol's list, for O(1) unlinking. The free
        /// list is singly linked and leaves it nil.
        var previous: Int? = nil
    }

    /// What happened to a slot when a subscriber left it.
    enum Departure: Equatable {
        /// Other subscribers remain; the state keeps running.
        case stillShared
        /// That was the last subscriber; the slot is back on the free list.
        case returnedToPool
    }

    private var slots: FixedArray<Slot>
    private var firstFree: Int?
    /// The head of each symbol's active list.
    private var firstActive: FixedArray<Int?>
    private(set) var activeCount = 0

    init(capacity: Int, symbolCount: Int) {
        precondition(capacity > 0 && capacity <= Int(Int32.max), "pool capacity must fit a handle")
        slots = FixedArray(repeating: Slot(), count: capacity)
        for index in 0..<capacity - 1 {
            slots[index].next = index + 1
        }
        firstFree = 0
        firstActive = FixedArray(repeating: nil, count: symbolCount)
    }

    var capacity: Int { slots.count }

    // MARK: Walking a symbol's states

    func firstSlot(of symbol: Int) -> Int? {
        firstActive[symbol]
    }

    func slot(after slot: Int) -> Int? {
        slots[slot].next
    }

    /// The active slot computing `key`, if any. O(states of that symbol).
    func find(_ key: IndicatorKey) -> Int? {
        var candidate = firstActive[key.symbol]
        while let slot = candidate {
            if slots[slot].key == key { return slot }
            candidate = slots[slot].next
        }
        return nil
    }

    func key(of slot: Int) -> IndicatorKey {
        assert(slots[slot].subscriberCount > 0, "a free slot has no key")
        return slots[slot].key
    }

    // MARK: Handles

    func handle(for slot: Int) -> IndicatorHandle {
        IndicatorHandle(slot: Int32(slot), generation: slots[slot].generation)
    }

    /// The slot `handle` names, or nil if that subscription's state has since
    /// been returned to the pool.
    func slot(of handle: IndicatorHandle) -> Int? {
        let slot = Int(handle.slot)
        guard slot >= 0, slot < capacity,
              slots[slot].generation == handle.generation,
              slots[slot].subscriberCount > 0
        else { return nil }
        return slot
    }

    func subscriberCount(of slot: Int) -> Int {
        slots[slot].subscriberCount
    }

    // MARK: Subscribers

    /// Takes a free slot for `key`, with one subscriber, onto its symbol's list.
    /// Returns nil when every slot is in use.
    mutating func acquire(_ key: IndicatorKey) -> Int? {
        assert(find(key) == nil, "one state per key: join the existing one instead")
        guard let slot = firstFree else { return nil }
        assert(slots[slot].subscriberCount == 0, "the free list holds only free slots")
        firstFree = slots[slot].next

        let head = firstActive[key.symbol]
        slots[slot].key = key
        slots[slot].subscriberCount = 1
        slots[slot].next = head
        slots[slot].previous = nil
        if let head { slots[head].previous = slot }
        firstActive[key.symbol] = slot
        activeCount += 1
        return slot
    }

    mutating func addSubscriber(to slot: Int) {
        precondition(slots[slot].subscriberCount > 0, "join only an active state")
        slots[slot].subscriberCount += 1
    }

    /// Drops one subscriber. The last one unlinks the slot from its symbol's list
    /// and returns it to the free list under a new generation.
    mutating func removeSubscriber(from slot: Int) -> Departure {
        precondition(slots[slot].subscriberCount > 0, "unsubscribe from an active state only")
        slots[slot].subscriberCount -= 1
        guard slots[slot].subscriberCount == 0 else { return .stillShared }

        let symbol = slots[slot].key.symbol
        let previous = slots[slot].previous
        let next = slots[slot].next
        if let previous {
            slots[previous].next = next
        } else {
            assert(firstActive[symbol] == slot, "a slot without a predecessor heads its list")
            firstActive[symbol] = next
        }
        if let next { slots[next].previous = previous }

        slots[slot].generation &+= 1
        slots[slot].previous = nil
        slots[slot].next = firstFree
        firstFree = slot
        activeCount -= 1
        return .returnedToPool
    }
}
