import BinanceFeed
import GRPCServer

/// The feed's sink: encodes each trade once and queues the same bytes on
/// every open StreamPrices stream. Connections flush once per reactor
/// iteration, so a burst of trades shares DATA frames and writes.
public final class PriceDistributor: TradeSink {
    private let encoder: PriceUpdateEncoder
    var registry: StreamRegistry
    public private(set) var tradesPublished = 0
    /// Messages queued on streams, all streams counted (for the drain log).
    public private(set) var messagesQueued = 0
    /// Streams reset because they could not keep up (their backlog overflowed).
    public private(set) var slowStreamsDropped = 0
    /// Bytes of those messages (gRPC prefix included), all streams counted.
    public private(set) var bytesQueued = 0
    /// Trades not yet flushed, by ingest time, for the latency histogram.
    var ingestTimes = IngestTimeLog(capacity: 0)
    /// Streams that overflowed during the current walk, removed after it.
    private var overflowed: [GRPCStream] = []

    let indicators: IndicatorService
    /// Streams that asked to end after some number of prices (or some time).
    let bounds: StreamBounds
    /// Streams whose price budget ran out during the current publish.
    private var spent: [GRPCStream] = []

    init(symbols: SymbolTable, streamCapacity: Int, indicators: IndicatorService, bounds: StreamBounds) {
        encoder = PriceUpdateEncoder(symbols: symbols)
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
        registry.forEach { stream in
            switch stream.send(message) {
            case .queued: messagesQueued += 1
            case .overflowed: overflowed.append(stream)
            case .notOpen: break
            }
        }
        if messagesQueued > queuedBefore {
            bytesQueued += (messagesQueued - queuedBefore) * message.count
            ingestTimes.record(trade.ingestUnixNanos)  // once per trade, however many streams
        }
        // Removal waits until the walk is over: the registry must not change under it.
        for stream in overflowed {
            if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
            slowStreamsDropped += 1
        }
        overflowed.removeAll(keepingCapacity: true)
        if bounds.hasBudgets {
            bounds.pricePublished(spent: &spent)
            for stream in spent { endBounded(stream) }
            spent.removeAll(keepingCapacity: true)
        }
    }

    /// A stream reached the bound its client asked for: it leaves the
    /// registry and ends with OK once what is queued has gone out.
    func endBounded(_ stream: GRPCStream) {
        if let subscriptions = registry.remove(stream) { indicators.release(subscriptions) }
        bounds.forget(stream)
        stream.finish(.ok)
    }
}
