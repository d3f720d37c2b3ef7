import Candles
import GRPCWire
import Indicators
import MarketData
import SwiftProtobuf
import TickwireProto

/// Connects the shared CandleBook to the streams: feeds it every trade,
/// applies candle requests, and sends each stream its closed candles as they
/// close, its forming candles and provisional values at the batch cadence,
/// and its indicator-on-candle values when they change.
public final class CandleService {
    public let settings: CandleSettings
    let symbols: SymbolTable
    let indicatorSettings: IndicatorSettings
    private var book: CandleBook
    /// The newest trade time seen, for `CandleClock.newestTrade`.
    private var newestTradeMs = Int64.min
    public private(set) var batchesSent = 0
    public private(set) var historiesJoined = 0
    public private(set) var historiesRefused = 0
    /// Distinct batches encoded; `batchesSent` minus this is what sharing saved.
    public var batchesEncoded: Int { candleEncoder.encodes + indicatorEncoder.encodes }
    /// Series (symbol, interval) subscribed for the first time since the
    /// last `takeFirstSubscribed()`: the application asks Binance for their
    /// history (issue 18: "when a (symbol, interval) is first asked for").
    private var firstSubscribed: [(symbol: Int, interval: CandleInterval)] = []
    private var everSubscribed: Set<Int> = []
    /// Each stream's batches are built here, then shared with the streams
    /// after it that would get the same bytes (see `SharedBatchEncoder`).
    private var candleScratch = Tickwire_V1_CandleBatch()
    private var indicatorScratch = IndicatorBatchDraft()
    private var candleEncoder = SharedBatchEncoder(empty: Tickwire_V1_CandleBatch())
    private var indicatorEncoder = SharedBatchEncoder(empty: IndicatorBatchDraft())

    public init(symbols: SymbolTable, settings: CandleSettings, indicatorSettings: IndicatorSettings) {
        self.symbols = symbols
        self.settings = settings
        self.indicatorSettings = indicatorSettings
        book = CandleBook(symbolCount: symbols.count, historyCapacity: settings.historyCapacity,
                          maxPeriod: indicatorSettings.maxPeriod, maxIndicators: settings.maxIndicators,
                          graceMs: settings.closeGraceMs)
    }

    /// Bytes allocated at startup for candles (reported in /metrics).
    public var memoryBytes: Int { book.memoryBytes }
    public var lateTrades: Int64 { book.lateTrades }
    public var activeIndicatorCount: Int { book.activeIndicatorCount }

    /// The per-trade path: 13 compares and 13 O(1) candle updates, no
    /// allocation. A candle the trade's time ended closes first, and goes out
    /// at once with its indicator values, one close at a time.
    @inline(__always)
    func ingest<Stream>(_ trade: Trade, _ registry: inout StreamRegistry<Stream>, softLimitBytes: Int) {
        if trade.tradeTimeMs > newestTradeMs { newestTradeMs = trade.tradeTimeMs }
        closeEnded(symbol: trade.symbolIndex, by: trade.tradeTimeMs, &registry, softLimitBytes: softLimitBytes)
        book.apply(trade)
    }

    /// Closes what the clock passed (the wall clock, or under replay the
    /// newest trade's time), sending each close; returns the next deadline on
    /// the wall clock (nil before any trade, and under replay, where the
    /// caller looks again at its next tick).
    func advanceClock<Stream>(nowUnixMs: Int64, _ registry: inout StreamRegistry<Stream>, softLimitBytes: Int,
                              holding: (Int) -> Bool = { _ in false }) -> Int64? {
        let now: Int64
        switch settings.clock {
        case .wall: now = nowUnixMs
        case .newestTrade:
            guard newestTradeMs != .min else { return nil }
            now = newestTradeMs
        }
        for symbol in 0..<symbols.count where !holding(symbol) {
            closeEnded(symbol: symbol, by: now - settings.closeGraceMs, &registry, softLimitBytes: softLimitBytes)
        }
        return settings.clock == .wall ? book.nextCloseDeadline : nil
    }

    /// One close at a time, each sent before the next (see `CandleBook.closeNextEnded`).
    private func closeEnded<Stream>(symbol: Int, by timeMs: Int64, _ registry: inout StreamRegistry<Stream>,
                                    softLimitBytes: Int) {
        var closes = 0
        while book.closeNextEnded(symbol: symbol, by: timeMs) {
            emitBatches(&registry, softLimitBytes: softLimitBytes)
            closes += 1
            if closes == book.catchUpLimit {
                book.skipEmpty(symbol: symbol, toContaining: timeMs)
                return
            }
        }
    }

    /// Check before joining (see `CandleBook.seed`); counted for /metrics.
    public func seed(symbol: Int, interval: CandleInterval, history: [Candle], nowMs: Int64) -> SeedOutcome {
        let outcome = book.seed(symbol: symbol, interval: interval, history: history, nowMs: nowMs)
        if case .joined = outcome { historiesJoined += 1 } else { historiesRefused += 1 }
        return outcome
    }

    /// The series first subscribed since the last call, oldest first.
    public func takeFirstSubscribed() -> [(symbol: Int, interval: CandleInterval)] {
        defer { firstSubscribed.removeAll() }
        return firstSubscribed
    }

    /// A series whose history was already fetched (--warm-intervals) is not
    /// reported by `takeFirstSubscribed()`.
    public func markHistoryRequested(symbol: Int, interval: CandleInterval) {
        everSubscribed.insert(symbol * CandleInterval.allCases.count + interval.ordinal)
    }

    // MARK: Requests

    /// `shares` is the connections' share of the indicator pools, which
    /// indicators on candles count against as per-trade ones do.
    func apply<Stream>(_ request: CandleSubscriptionRequest, to entry: inout PriceStreamEntry<Stream>,
                       shares: inout ConnectionIndicatorShares) -> GRPCStatus {
        switch request {
        case .rejected(let code, let message):
            return GRPCStatus(code, message)
        case .unsubscribe(let key):
            if let index = entry.candleSubscriptions.firstIndex(where: { $0.key == key }) {
                release([entry.candleSubscriptions[index]], connection: entry.connectionKey, shares: &shares)
                entry.candleSubscriptions.remove(at: index)
            }
            return .ok
        case .subscribe(let key):
            if entry.candleSubscriptions.contains(where: { $0.key == key }) { return .ok }
            guard indicatorSettings.admitsAnotherSubscription(on: entry) else { return indicatorSettings.streamFull }
            var handle: IndicatorHandle?
            if case .indicator(let kind, let period, let parameters) = key.subject {
                let share = SharedIndicatorKey.state(of: key)
                guard shares.admits(share, for: entry.connectionKey) else { return shares.refusal }
                switch book.subscribe(symbol: key.symbol, interval: key.interval, kind: kind, period: period,
                                      parameters: parameters) {
                case .success(let subscribed):
                    handle = subscribed
                    shares.add(share, for: entry.connectionKey)
                case .failure(.poolExhausted):
                    return GRPCStatus(.resourceExhausted,
                                      "the server computes its maximum of \(settings.maxIndicators) distinct indicators on candles; try one that others already use, or later")
                case .failure(.invalidPeriod):
                    let problem = IndicatorParameters.problem(kind: kind, period: period, parameters: parameters,
                                                              maxPeriod: book.maxPeriod) ?? "a period is out of range"
                    return GRPCStatus(.invalidArgument,
                                      "on candles, \(problem): the longest is \(book.maxPeriod) (the server keeps --max-candle-history \(settings.historyCapacity) candles)")
                }
            }
            if everSubscribed.insert(key.symbol * CandleInterval.allCases.count + key.interval.ordinal).inserted {
                firstSubscribed.append((key.symbol, key.interval))
            }
            // One closed candle back, so the first batch carries the last closed
            // one (-1 when every candle held was joined from fetched klines).
            let closed = book.closedCount(symbol: key.symbol, interval: key.interval)
            entry.candleSubscriptions.append(CandleStreamSubscription(key: key, handle: handle,
                                                                      sentClosedCount: closed - 1))
            return .ok
        }
    }

    func release(_ subscriptions: [CandleStreamSubscription], connection: ObjectIdentifier,
                 shares: inout ConnectionIndicatorShares) {
        for subscription in subscriptions {
            guard let handle = subscription.handle else { continue }
            book.unsubscribe(handle)
            shares.remove(.state(of: subscription.key), for: connection)
        }
    }

    // MARK: Sending

    /// Every stream with candle subscriptions gets what changed; a stream
    /// over the soft limit waits (its next batch carries the latest).
    func emitBatches<Stream>(_ registry: inout StreamRegistry<Stream>, softLimitBytes: Int) {
        registry.forEachCandleSubscribed { entry in
            guard entry.stream.isOpen, entry.stream.backlogBytes <= softLimitBytes else { return }
            emit(to: &entry)
        }
        candleEncoder.endRound()
        indicatorEncoder.endRound()
    }

    /// A late joiner's first batch, sent on its own at once.
    func emitAlone<Stream>(to entry: inout PriceStreamEntry<Stream>) {
        emit(to: &entry)
        candleEncoder.endRound()
        indicatorEncoder.endRound()
    }

    /// Queues on one stream its new closed candles, its changed forming
    /// candles, and its changed indicator values: a CandleBatch, then an
    /// IndicatorBatch, each shared with the previous stream when equal.
    private func emit<Stream>(to entry: inout PriceStreamEntry<Stream>) {
        candleScratch.candles.removeAll(keepingCapacity: true)
        indicatorScratch.updates.removeAll(keepingCapacity: true)
        for index in entry.candleSubscriptions.indices {
            switch entry.candleSubscriptions[index].key.subject {
            case .candles: collectCandles(&entry.candleSubscriptions[index], into: &candleScratch)
            case .indicator: collectValues(&entry.candleSubscriptions[index], into: &indicatorScratch)
            }
        }
        if !candleScratch.candles.isEmpty {
            entry.stream.send(candleEncoder.message(for: &candleScratch))
            batchesSent += 1
        }
        if !indicatorScratch.updates.isEmpty {
            entry.stream.send(indicatorEncoder.message(for: &indicatorScratch))
            batchesSent += 1
        }
    }

    private func collectCandles(_ subscription: inout CandleStreamSubscription, into batch: inout Tickwire_V1_CandleBatch) {
        let key = subscription.key
        let closed = book.closedCount(symbol: key.symbol, interval: key.interval)
        if closed > subscription.sentClosedCount {
            // Oldest first; a stream further behind than the history gets what is held.
            let held = Int64(book.closedHeld(symbol: key.symbol, interval: key.interval))
            let unsent = min(closed - subscription.sentClosedCount, held)
            for back in stride(from: unsent - 1, through: 0, by: -1) {
                let candle = book.closedCandle(symbol: key.symbol, interval: key.interval, back: Int(back))
                batch.candles.append(wire(candle, key))
            }
            subscription.sentClosedCount = closed
        }
        guard key.forming, let forming = book.forming(symbol: key.symbol, interval: key.interval),
              forming != subscription.sentForming else { return }
        subscription.sentForming = forming
        batch.candles.append(wire(forming, key))
    }

    private func collectValues(_ subscription: inout CandleStreamSubscription, into batch: inout IndicatorBatchDraft) {
        guard let handle = subscription.handle else { return }
        if let value = book.value(of: handle), value.version > subscription.sentVersion {
            subscription.sentVersion = value.version
            batch.updates.append(update(subscription.key, value.outputs, tradeID: value.tradeId,
                                        timeMs: value.tradeTimeMs, forming: false))
        }
        let key = subscription.key
        guard key.forming, let provisional = book.peek(handle), provisional != subscription.sentPeek,
              let forming = book.forming(symbol: key.symbol, interval: key.interval) else { return }
        subscription.sentPeek = provisional
        batch.updates.append(update(key, provisional, tradeID: forming.lastTradeId, timeMs: forming.closeTimeMs,
                                    forming: true))
    }

    private func wire(_ candle: Candle, _ key: CandleKey) -> Tickwire_V1_Candle {
        var message = Tickwire_V1_Candle()
        message.symbol = symbols.upperCased[key.symbol]
        message.interval = key.interval.wireInterval
        message.openTimeMs = candle.openTimeMs
        message.closeTimeMs = candle.closeTimeMs
        message.open = candle.open
        message.high = candle.high
        message.low = candle.low
        message.close = candle.close
        message.volume = candle.volume
        message.quoteVolume = candle.quoteVolume
        message.tradeCount = candle.tradeCount
        message.takerBuyVolume = candle.takerBuyVolume
        message.takerBuyQuoteVolume = candle.takerBuyQuoteVolume
        message.firstTradeID = candle.firstTradeId
        message.lastTradeID = candle.lastTradeId
        message.closed = candle.isClosed
        return message
    }

    private func update(_ key: CandleKey, _ outputs: IndicatorOutputs, tradeID: Int64, timeMs: Int64,
                        forming: Bool) -> IndicatorUpdateDraft {
        guard case .indicator(let kind, let period, let parameters) = key.subject else {
            preconditionFailure("not an indicator")
        }
        return IndicatorUpdateDraft(
            symbol: symbols.upperCased[key.symbol],
            key: IndicatorKey(symbol: key.symbol, kind: kind, period: period, parameters: parameters),
            outputs: outputs, tradeID: tradeID, tradeTimeMs: timeMs, interval: key.interval.wireInterval,
            forming: forming)
    }
}

extension CandleInterval {
    var wireInterval: Tickwire_V1_CandleInterval {
        Tickwire_V1_CandleInterval(rawValue: rawValue) ?? .unspecified
    }
}
