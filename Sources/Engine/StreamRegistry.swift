import Indicators

/// One indicator a stream subscribed to, and the engine version of the last
/// value this stream was sent.
public struct StreamSubscription {
    public let key: IndicatorKey
    let handle: IndicatorHandle
    var lastSentVersion: UInt64 = 0
}

/// An open StreamPrices stream and what the engine keeps for it.
public struct PriceStreamEntry<Stream: ClientStream> {
    public let stream: Stream
    /// The stream's connection (ClientStream.connectionKey), read once at open.
    let connectionKey: ObjectIdentifier
    /// The same stream without reference counting, for the per-trade walk:
    /// `stream` above keeps it alive while it is registered.
    let unretained: Unmanaged<Stream>
    public internal(set) var subscriptions: [StreamSubscription] = []
    /// Candle subscriptions and indicators on candles (CandleService).
    public internal(set) var candleSubscriptions: [CandleStreamSubscription] = []
    var slow = SlowConsumerState()
    /// Prices still to send before the stream ends with OK, when its client
    /// set `tickwire-stream-messages`; nil for a stream without that bound.
    /// Kept here, not in a list of its own, so that counting it down is part
    /// of the walk that queues the price.
    var remainingPrices: Int?

    init(stream: Stream, remainingPrices: Int?) {
        self.stream = stream
        connectionKey = stream.connectionKey
        unretained = Unmanaged.passUnretained(stream)
        self.remainingPrices = remainingPrices
    }
}

/// Every open StreamPrices stream, in a dense array so fan-out is a linear
/// walk. The registry keeps each stream's index itself (the stream carries
/// no engine bookkeeping), so removal is O(1): swap with the last.
public struct StreamRegistry<Stream: ClientStream> {
    public private(set) var entries: [PriceStreamEntry<Stream>] = []
    /// Where each registered stream sits in `entries`. Touched when a stream
    /// joins, leaves or sends a request, never on the per-trade walk.
    private var indexOf: [ObjectIdentifier: Int] = [:]

    public init(capacity: Int) {
        entries.reserveCapacity(capacity)
        // Not the whole capacity: a large table's buckets are touched at
        // random as streams join, one page each, which cost a few streams
        // ~10 KiB of RSS per connection (bench/run.py colocated). It grows
        // as streams arrive instead; that is a join, never a trade.
        indexOf.reserveCapacity(min(capacity, 64))
    }

    public var count: Int { entries.count }

    public func contains(_ stream: Stream) -> Bool { indexOf[ObjectIdentifier(stream)] != nil }

    /// `priceBudget`: the prices the stream gets before it ends, if bounded.
    mutating func add(_ stream: Stream, priceBudget: Int? = nil) {
        let id = ObjectIdentifier(stream)
        precondition(indexOf[id] == nil, "stream is already registered")
        indexOf[id] = entries.count
        entries.append(PriceStreamEntry(stream: stream, remainingPrices: priceBudget))
    }

    /// Removes the stream and returns what it had subscribed to, or nil when
    /// it was not registered.
    mutating func remove(_ stream: Stream) -> (indicators: [StreamSubscription], candles: [CandleStreamSubscription])? {
        guard let index = indexOf.removeValue(forKey: ObjectIdentifier(stream)) else { return nil }
        precondition(entries[index].stream === stream, "registry index out of step")
        let removed = (entries[index].subscriptions, entries[index].candleSubscriptions)
        let last = entries.removeLast()
        if index < entries.count {
            entries[index] = last
            indexOf[ObjectIdentifier(last.stream)] = index
        }
        return removed
    }

    /// The entry of a registered stream, for in-place changes.
    mutating func withEntry<R>(of stream: Stream, _ body: (inout PriceStreamEntry<Stream>) -> R) -> R? {
        guard let index = indexOf[ObjectIdentifier(stream)] else { return nil }
        precondition(entries[index].stream === stream, "registry index out of step")
        return body(&entries[index])
    }

    /// The largest backlog among the registered streams.
    public var largestBacklogBytes: Int {
        entries.reduce(0) { max($0, $1.stream.backlogBytes) }
    }

    /// The body must not add or remove streams: the walk reads the array's
    /// storage without holding a reference to it (removal happens after the
    /// walk, as PriceDistributor does with overflowed streams).
    @inline(__always)
    public func forEach(_ body: (Stream) -> Void) {
        // Once per trade per stream: reading `entry.stream` would retain and
        // release each stream; the unretained copy is a plain load.
        entries.withUnsafeBufferPointer { buffer in
            for index in buffer.indices {
                buffer[index].unretained._withUnsafeGuaranteedRef(body)
            }
        }
    }

    /// The per-trade walk with each entry open for change (its slow-consumer
    /// state). The body must not add or remove streams.
    @inline(__always)
    mutating func forEachEntry(_ body: (Stream, inout PriceStreamEntry<Stream>) -> Void) {
        entries.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices {
                buffer[index].unretained._withUnsafeGuaranteedRef { body($0, &buffer[index]) }
            }
        }
    }

    /// Visits every entry that has subscriptions, for the batch timer.
    mutating func forEachCandleSubscribed(_ body: (inout PriceStreamEntry<Stream>) -> Void) {
        for index in entries.indices where !entries[index].candleSubscriptions.isEmpty {
            body(&entries[index])
        }
    }

    mutating func forEachSubscribed(_ body: (inout PriceStreamEntry<Stream>) -> Void) {
        for index in entries.indices where !entries[index].subscriptions.isEmpty {
            body(&entries[index])
        }
    }
}
