import GRPCWire
import Indicators
import MarketData
import SwiftProtobuf
import TickwireProto

/// Connects the shared IndicatorEngine to the streams: applies each stream's
/// IndicatorRequests, feeds every trade to the engine, and once per interval
/// sends each stream one IndicatorBatch with what changed since its last one.
public final class IndicatorService {
    public let settings: IndicatorSettings
    public let symbols: SymbolTable
    private var engine: IndicatorEngine
    /// Each connection's share of the pools (--max-indicators-per-connection),
    /// per trade here and on candles (CandleService is handed it).
    var shares: ConnectionIndicatorShares
    /// Batches sent, for the logs.
    public private(set) var batchesSent = 0
    /// Batch rounds in which a stream's backlog was over the soft limit and
    /// its batch would have carried new values. Nothing is lost: the next
    /// batch it gets carries the latest value of everything that changed
    /// meanwhile.
    public private(set) var batchesDeferred = 0
    /// Each stream's batch is built here, then shared with the other streams
    /// of the round that would get the same bytes (see `SharedBatchEncoder`).
    private var scratch = IndicatorBatchDraft()
    private var encoder = SharedBatchEncoder(empty: IndicatorBatchDraft())
    /// Distinct batches encoded; `batchesSent` minus this is what sharing saved.
    public var batchesEncoded: Int { encoder.encodes }

    public init(symbols: SymbolTable, settings: IndicatorSettings) {
        self.symbols = symbols
        self.settings = settings
        engine = IndicatorEngine(symbolCount: symbols.count, historyCapacity: settings.historyCapacity,
                                 maxPeriod: settings.maxPeriod, maxIndicators: settings.maxIndicators)
        shares = ConnectionIndicatorShares(limit: settings.maxIndicatorsPerConnection)
    }

    /// Distinct indicators the streams of `connection` hold together.
    public func indicatorCount(ofConnection connection: ObjectIdentifier) -> Int {
        shares.count(of: connection)
    }

    /// The per-trade path: O(indicators of that symbol), no allocation.
    @inline(__always)
    func ingest(_ trade: Trade) {
        engine.ingest(symbol: trade.symbolIndex,
                      bar: .trade(price: trade.price, quantity: trade.quantity, timeMs: trade.tradeTimeMs),
                      tradeId: trade.tradeID, tradeTimeMs: trade.tradeTimeMs)
    }

    /// Applies one request to a stream's subscriptions and returns the status
    /// to answer it with.
    func apply<Stream>(_ request: SubscriptionRequest, to entry: inout PriceStreamEntry<Stream>) -> GRPCStatus {
        switch request {
        case .rejected(let code, let message):
            return GRPCStatus(code, message)
        case .unsubscribe(let key):
            // Not subscribed is still OK: the client's intent already holds.
            if let index = entry.subscriptions.firstIndex(where: { $0.key == key }) {
                engine.unsubscribe(entry.subscriptions[index].handle)
                shares.remove(.perTrade(key), for: entry.connectionKey)
                entry.subscriptions.remove(at: index)
            }
            return .ok
        case .subscribe(let key):
            if entry.subscriptions.contains(where: { $0.key == key }) { return .ok }  // idempotent
            guard settings.admitsAnotherSubscription(on: entry) else { return settings.streamFull }
            guard shares.admits(.perTrade(key), for: entry.connectionKey) else { return shares.refusal }
            switch engine.subscribe(symbol: key.symbol, kind: key.kind, period: key.period, parameters: key.parameters) {
            case .success(let handle):
                shares.add(.perTrade(key), for: entry.connectionKey)
                if entry.subscriptions.isEmpty { entry.subscriptions.reserveCapacity(4) }
                entry.subscriptions.append(StreamSubscription(key: key, handle: handle))
                return .ok
            case .failure(.poolExhausted):
                return GRPCStatus(.resourceExhausted,
                                  "the server computes its maximum of \(settings.maxIndicators) distinct indicators (--max-indicators); try one that others already use, or later")
            case .failure(.invalidPeriod):
                return GRPCStatus(.invalidArgument, "period \(key.period) is out of range: use 2 to \(settings.maxPeriod)")
            }
        }
    }

    /// Returns a closed stream's subscriptions to the engine.
    func release(_ subscriptions: [StreamSubscription], connection: ObjectIdentifier) {
        for subscription in subscriptions {
            engine.unsubscribe(subscription.handle)
            shares.remove(.perTrade(subscription.key), for: connection)
        }
    }

    /// Sends every subscribed stream the values that changed since its last
    /// batch. A stream whose backlog is over its conflation limit is skipped, as
    /// its prices are conflated: its batches would otherwise pile up behind a
    /// reader that is not reading until they hit the hard limit, when one
    /// batch of the latest values serves it as well once it catches up.
    /// `slowConsumers` nil: no stream is skipped (the final batch).
    func emitBatches<Stream>(_ registry: inout StreamRegistry<Stream>, slowConsumers: SlowConsumerPolicy?) {
        registry.forEachSubscribed { entry in
            guard entry.stream.isOpen else { return }
            let limit = slowConsumers?.conflationLimit(windowNeverOpened: entry.stream.windowNeverOpened) ?? .max
            guard entry.stream.backlogBytes <= limit else {
                if hasNewValues(entry.subscriptions) { batchesDeferred += 1 }
                return
            }
            scratch.updates.removeAll(keepingCapacity: true)
            for index in entry.subscriptions.indices {
                let subscription = entry.subscriptions[index]
                guard let value = engine.value(of: subscription.handle),
                      value.version > subscription.lastSentVersion else { continue }
                entry.subscriptions[index].lastSentVersion = value.version
                scratch.updates.append(IndicatorUpdateDraft(
                    symbol: symbols.upperCased[subscription.key.symbol], key: subscription.key,
                    outputs: value.outputs, tradeID: value.tradeId, tradeTimeMs: value.tradeTimeMs))
            }
            guard !scratch.updates.isEmpty else { return }
            entry.stream.send(encoder.message(for: &scratch))
            batchesSent += 1
        }
        encoder.endRound()
    }

    /// A batch would carry something: a value newer than the one last sent.
    private func hasNewValues(_ subscriptions: [StreamSubscription]) -> Bool {
        subscriptions.contains { subscription in
            engine.value(of: subscription.handle).map { $0.version > subscription.lastSentVersion } ?? false
        }
    }

    /// The StreamResponse.status answering `request`.
    public func statusMessage(for request: Tickwire_V1_IndicatorRequest, status: GRPCStatus) -> WireMessage {
        var response = Tickwire_V1_StreamResponse()
        // Over-long ids and symbols were refused; echo a bounded prefix of them.
        response.status.requestID = String(request.requestID.prefix(SubscriptionRequest.maxRequestIDBytes))
        response.status.code = status.code.rawValue
        response.status.message = status.code == .ok ? "OK" : status.message
        response.status.symbol = symbols.index(of: request.symbol).map { symbols.upperCased[$0] } ?? String(request.symbol.prefix(64))
        response.status.type = request.type
        response.status.period = request.period
        response.status.interval = request.interval
        response.status.forming = request.forming
        response.status.candles = request.candles
        // An accepted request's parameters are echoed with the defaults filled
        // in; `period` stays the request's, as for every status.
        if status.code == .ok, !request.candles,
           case .resolved(let resolved) = IndicatorRequestParameters.resolve(
               request, onCandles: request.interval != .unspecified, maxPeriod: settings.maxPeriod),
           let wire = resolved.parameters.wire {
            response.status.parameters = wire
        }
        return WireMessage(payload: try! response.serializedBytes())
    }
}
