import BinanceFeed
import GRPCServer

/// The feed's sink: encodes each trade once and queues the same bytes on
/// every open StreamPrices stream. Connections flush once per reactor
/// iteration, so a burst of trades shares DATA frames and writes.
public final class PriceDistributor: TradeSink {
    private var encoder: PriceUpdateEncoder
    var registry: StreamRegistry
    public private(set) var tradesPublished = 0
    /// Messages queued on streams, all streams counted (for the drain log).
    public private(set) var messagesQueued = 0
    /// Streams ended because they could not keep up: their backlog overflowed,
    /// stayed over the soft limit too long, or their connection's total
    /// passed --connection-hard-limit.
    public private(set) var slowStreamsDropped = 0
    /// Bytes of those messages (gRPC prefix included), all streams counted.
    public private(set) var bytesQueued = 0
    /// Trades not yet flushed, by ingest time, for the latency histogram.
    var ingestTimes = IngestTimeLog(capacity: 0)
    /// Streams that overflowed during the current walk, removed after it.
    private var overflowed: [GRPCStream] = []
    /// Trades a slow stream never received because a newer one of the same
    /// symbol replaced them while its backlog was over the soft limit.
    public private(set) var conflatedTrades = 0
    let slowConsumers: SlowConsumerPolicy
    private let symbolCount: Int

    let indicators: IndicatorService
    /// Streams that asked to end after some number of prices (or some time).
    let bounds: StreamBounds
    /// Streams whose price budget ran out during the current publish.
    private var spent: [GRPCStream] = []

    init(symbols: SymbolTable, streamCapacity: Int, indicators: IndicatorService, bounds: StreamBounds,
         slowConsumers: SlowConsumerPolicy = SlowConsumerPolicy()) {
        encoder = PriceUpdateEncoder(symbols: symbols)
        symbolCount = symbols.count
        self.slowConsumers = slowConsumers
        registry = StreamRegistry(capacity: streamCapacity)
        self.indicators = indicators
        self.bounds = bounds
    }

    public func publish(_ trade: Trade) {
        tradesPublished += 1
        // The price goes out first: batching must never delay it.
        defer { indicators.ingest(trade) }
        guard registry.count > 0 else { return }
        let message = encoder.encode(trade)
        let queuedBefore = messagesQueued
        let softLimit = slowConsumers.softLimitBytes
        registry.forEachEntry { stream, entry in
            if stream.backlogBytes > softLimit {
                if entry.slow.hold(trade, symbolCount: symbolCount) { conflatedTrades += 1 }
                return
            }
            if entry.slow.isHolding { sendHeld(&entry, to: stream) }
            queue(message, on: stream)
        }
        if messagesQueued > queuedBefore {
            bytesQueued += (messagesQueued - queuedBefore) * message.count
            ingestTimes.record(trade.ingestUnixNanos)  // once per trade, however many streams
        }
        // Removal waits until the walk is over: the registry must not change under it.
        for stream in overflowed {
            if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
            bounds.forget(stream)
            slowStreamsDropped += 1
        }
        overflowed.removeAll(keepingCapacity: true)
        if bounds.hasBudgets {
            bounds.pricePublished(spent: &spent)
            for stream in spent { endBounded(stream) }
            spent.removeAll(keepingCapacity: true)
        }
    }

    @inline(__always)
    private func queue(_ message: WireMessage, on stream: GRPCStream) {
        switch stream.send(message) {
        case .queued: messagesQueued += 1
        case .overflowed: overflowed.append(stream)
        case .notOpen: break
        }
    }

    /// A stream back under the soft limit gets its held trades first, each
    /// encoded for it alone (this path is rare: it follows a slow spell).
    private func sendHeld(_ entry: inout PriceStreamEntry, to stream: GRPCStream) {
        for trade in entry.slow.release() { queue(encoder.encode(trade), on: stream) }
    }

    /// Every batch tick: streams over the soft limit for longer than the
    /// timeout end with RESOURCE_EXHAUSTED; streams back under it get their
    /// held trades even when no new trade comes to carry them.
    func sweepSlowConsumers(nowNanos: Int64) {
        let softLimit = slowConsumers.softLimitBytes
        let timeout = slowConsumers.timeoutNanos
        var tooSlow: [GRPCStream] = []
        registry.forEachEntry { stream, entry in
            if stream.backlogBytes > softLimit {
                if entry.slow.aboveSoftSinceNanos == 0 {
                    entry.slow.aboveSoftSinceNanos = nowNanos
                } else if nowNanos - entry.slow.aboveSoftSinceNanos >= timeout {
                    tooSlow.append(stream)
                }
            } else {
                entry.slow.aboveSoftSinceNanos = 0
                if entry.slow.isHolding { sendHeld(&entry, to: stream) }
            }
        }
        for stream in tooSlow {
            if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
            bounds.forget(stream)
            slowStreamsDropped += 1
            stream.abandon(GRPCStatus(.resourceExhausted, "client too slow: over \(softLimit) bytes queued for \(timeout / 1_000_000) ms"))
        }
        for stream in overflowed {
            if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
            bounds.forget(stream)
            slowStreamsDropped += 1
        }
        overflowed.removeAll(keepingCapacity: true)
    }

    /// The gRPC layer ended `stream` for its connection's total backlog
    /// (never during a walk of the registry).
    func dropTooSlow(_ stream: GRPCStream) {
        if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
        bounds.forget(stream)
        slowStreamsDropped += 1
    }

    /// A call reached a bound its client set: a StreamPrices stream leaves
    /// the registry (any other call was never in it), and the call ends with
    /// `status` (OK, or DEADLINE_EXCEEDED for grpc-timeout) once what is
    /// queued has gone out.
    func endBounded(_ stream: GRPCStream, _ status: GRPCStatus = .ok) {
        if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
        bounds.forget(stream)
        stream.finish(status)
    }
}
