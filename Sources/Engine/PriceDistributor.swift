import GRPCWire
import MarketData

/// The engine: the feed's sink and the streams' keeper. It encodes each trade
/// once and queues the same bytes on every open StreamPrices stream, holds
/// back prices for readers that fall behind, counts down client bounds, and
/// feeds the indicators. It does no I/O: streams are `ClientStream`s, and
/// the one timer it needs is returned as a `TimerRequest` for its owner to arm.
public final class PriceDistributor<Stream: ClientStream>: TradeSink {
    public typealias TimerRequest = StreamBounds<Stream>.TimerRequest

    /// Internal, not private: the gap notice (PriceDistributor+GapNotice) names symbols with it.
    var encoder: PriceUpdateEncoder
    public internal(set) var registry: StreamRegistry<Stream>
    public private(set) var tradesPublished = 0
    /// Messages queued on streams, all streams counted (for the drain log).
    public private(set) var messagesQueued = 0
    /// Streams ended because they could not keep up: their backlog overflowed,
    /// stayed over the soft limit too long, or their connection's total
    /// passed --connection-hard-limit.
    public internal(set) var slowStreamsDropped = 0
    /// Bytes of those messages (gRPC prefix included), all streams counted.
    public private(set) var bytesQueued = 0
    /// Trades not yet flushed, by ingest time, for the latency histogram.
    public var ingestTimes = IngestTimeLog(capacity: 0)
    /// How late trades arrive (Binance's times against ingest), and each
    /// symbol's newest trade time.
    public private(set) var feedLag: FeedLag
    /// Streams that overflowed during the current walk, removed after it.
    private var overflowed: [Stream] = []
    /// Trades a slow stream never received because a newer one of the same
    /// symbol replaced them while its backlog was over the soft limit.
    public private(set) var conflatedTrades = 0
    public let slowConsumers: SlowConsumerPolicy
    /// slowConsumers' limit for streams whose reader has taken nothing yet,
    /// never above the soft limit.
    private let untakenLimit: Int
    private let symbolCount: Int

    public let indicators: IndicatorService
    /// Candles of every (symbol, interval), and indicators on their closes.
    public let candles: CandleService
    /// Calls that end at a time (stream duration or grpc-timeout).
    let bounds = StreamBounds<Stream>()
    /// Streams whose price budget ran out during the current publish.
    private var spent: [Stream] = []
    /// A batch's encoded messages and whether each was queued anywhere, kept
    /// between batches so that publishing one allocates nothing.
    private var batchMessages: [WireMessage] = []
    private var batchQueued: [Bool] = []
    /// The same messages, unretained: the walk lends each to every stream
    /// without a retain and a release per stream per trade. Reading a class
    /// reference out of an array costs that pair, atomically, and at burst
    /// (100 streams, ~230,000 trades/s) it was a fifth of the server's CPU
    /// (perf: swift_retain and swift_release under publish(batch:)).
    /// `batchMessages` keeps them alive until the walk is over.
    private var batchLent: [Unmanaged<WireMessage>] = []

    public init(symbols: SymbolTable, streamCapacity: Int, indicators: IndicatorService,
                slowConsumers: SlowConsumerPolicy = SlowConsumerPolicy(), candles: CandleService? = nil) {
        self.candles = candles ?? CandleService(symbols: symbols, settings: CandleSettings(),
                                                indicatorSettings: indicators.settings)
        encoder = PriceUpdateEncoder(symbols: symbols)
        symbolCount = symbols.count
        feedLag = FeedLag(symbolCount: symbols.count)
        self.slowConsumers = slowConsumers
        untakenLimit = slowConsumers.conflationLimit(windowNeverOpened: true)
        registry = StreamRegistry(capacity: streamCapacity)
        self.indicators = indicators
    }

    public func publish(_ trade: Trade) {
        tradesPublished += 1
        // The price goes out first: batching must never delay it.
        defer { ingest(trade) }
        guard registry.count > 0 else { return }
        let message = encoder.encode(trade)
        let softLimit = slowConsumers.softLimitBytes
        var queuedAnywhere = false
        registry.forEachEntry { stream, entry in
            if deliver(trade, message, to: stream, &entry, softLimit) { queuedAnywhere = true }
            countDownBudget(of: stream, &entry)
        }
        // Once per trade, however many streams; backfilled trades were read
        // late by design and would only distort the latency histogram.
        if queuedAnywhere && !trade.isBackfilled { ingestTimes.record(trade.ingestUnixNanos) }
        endWalk()
    }

    /// Trades that became due together: the same as publishing each in turn
    /// (every stream gets every trade, in order, conflated past the soft
    /// limit the same way), in one walk over the streams. Per trade, the walk
    /// touches every stream's object, queue and connection: at 10,000
    /// streams on a loop that fell behind, that was a quarter of the CPU
    /// (perf), and one walk per batch cut the p99 from ~470 to ~270 ms.
    public func publish(batch trades: [Trade]) {
        guard trades.count > 1, registry.count > 0 else {
            for trade in trades { publish(trade) }
            return
        }
        tradesPublished += trades.count
        for trade in trades {
            let message = encoder.encode(trade)
            batchMessages.append(message)
            batchLent.append(.passUnretained(message))
        }
        batchQueued.append(contentsOf: repeatElement(false, count: trades.count))
        let softLimit = slowConsumers.softLimitBytes
        registry.forEachEntry { stream, entry in
            for index in trades.indices {
                // A budget spent earlier in this batch: the stream ends after the walk.
                if entry.remainingPrices == 0 { break }
                let queued = batchLent[index]._withUnsafeGuaranteedRef {
                    deliver(trades[index], $0, to: stream, &entry, softLimit)
                }
                if queued { batchQueued[index] = true }
                countDownBudget(of: stream, &entry)
            }
        }
        for index in trades.indices where batchQueued[index] && !trades[index].isBackfilled {
            ingestTimes.record(trades[index].ingestUnixNanos)
        }
        // Dropped now, so the encoder's recycler can reuse them once flushed.
        batchLent.removeAll(keepingCapacity: true)
        batchMessages.removeAll(keepingCapacity: true)
        batchQueued.removeAll(keepingCapacity: true)
        endWalk()
        // The prices went first: batching must never delay them.
        for trade in trades { ingest(trade) }
    }

    /// After the trade's price is queued: the per-trade indicators and the
    /// candles. A candle the trade closed goes out at once, not at the next batch.
    @inline(__always)
    private func ingest(_ trade: Trade) {
        feedLag.observe(trade)
        indicators.ingest(trade)
        candles.ingest(trade, &registry, softLimitBytes: slowConsumers.softLimitBytes)
    }

    /// One trade to one stream: queued, or held back (conflated) while the
    /// stream's backlog is over the soft limit, after any trades held before
    /// it once the stream is back under. Returns true when `message` was queued.
    @inline(__always)
    @discardableResult
    private func deliver(_ trade: Trade, _ message: WireMessage, to stream: Stream,
                         _ entry: inout PriceStreamEntry<Stream>, _ softLimit: Int) -> Bool {
        if stream.backlogBytes > softLimit || (stream.windowNeverOpened && stream.backlogBytes > untakenLimit) {
            if entry.slow.hold(trade, symbolCount: symbolCount) { conflatedTrades += 1 }
            return false
        }
        if entry.slow.isHolding { sendHeld(&entry, to: stream) }
        return queue(message, on: stream)
    }

    /// A price went to a stream still open, queued or held back: one less of
    /// its budget, if it has one. A spent stream ends once the walk is over.
    @inline(__always)
    private func countDownBudget(of stream: Stream, _ entry: inout PriceStreamEntry<Stream>) {
        guard let remaining = entry.remainingPrices, remaining > 0, stream.isOpen else { return }
        entry.remainingPrices = remaining - 1
        if remaining == 1 { spent.append(stream) }
    }

    /// What a walk over the streams left to do: the registry must not change
    /// under it, so overflowed and spent streams leave afterwards.
    func endWalk() {
        removeOverflowed()
        for stream in spent { end(stream, .ok) }
        spent.removeAll(keepingCapacity: true)
    }

    private func removeOverflowed() {
        for stream in overflowed { dropTooSlow(stream) }
        overflowed.removeAll(keepingCapacity: true)
    }

    /// Returns true when the message was queued.
    @inline(__always)
    @discardableResult
    private func queue(_ message: WireMessage, on stream: Stream) -> Bool {
        switch stream.send(message) {
        case .queued:
            messagesQueued += 1
            bytesQueued += message.count
            return true
        case .overflowed:
            overflowed.append(stream)
        case .notOpen:
            break
        }
        return false
    }

    /// A stream back under the soft limit gets its held trades first, each
    /// encoded for it alone (this path is rare: it follows a slow spell).
    func sendHeld(_ entry: inout PriceStreamEntry<Stream>, to stream: Stream) {
        for trade in entry.slow.release() { queue(encoder.encode(trade), on: stream) }
    }
}
