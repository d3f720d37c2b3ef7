// The engine alone, as the server wires it: a PriceDistributor with its
// IndicatorService, and streams that are RecordingStreams (the unit tests'
// ClientStream) instead of gRPC calls. Requests go in as the client's bytes,
// so every one goes SwiftProtobuf decode -> SubscriptionRequest ->
// StreamRegistry -> IndicatorService -> IndicatorEngine exactly as on the
// wire, with no reactor, no nghttp2 and no socket.

@testable import Engine
import GRPCWire
import Indicators
import MarketData
import TickwireProto

final class EngineRig {
    static let symbols = ["BTCUSDT", "ETHUSDT"]
    /// Small enough that the fuzzer reaches every limit: a full pool, a full
    /// stream, the longest period, RSI(maxPeriod) that the history cannot warm.
    static let indicators: IndicatorSettings = {
        var settings = IndicatorSettings()
        settings.historyCapacity = 8
        settings.maxPeriod = 8
        settings.maxIndicators = 6
        settings.maxSubscriptionsPerStream = 4
        return settings
    }()

    let symbolTable: SymbolTable
    let engine: PriceDistributor<RecordingStream>
    private var nextTradeID: Int64 = 1

    init() {
        do {
            symbolTable = try SymbolTable(Self.symbols)
        } catch {
            fatalError("rig setup: \(error)")
        }
        engine = PriceDistributor(symbols: symbolTable, streamCapacity: 8,
                                  indicators: IndicatorService(symbols: symbolTable, settings: Self.indicators))
    }

    /// A StreamPrices call joins the fan-out, unbounded.
    func openStream() -> RecordingStream {
        let stream = RecordingStream()
        precondition(engine.open(stream, bound: StreamBound(), callTimeoutNanos: nil, nowNanos: 0) == nil,
                     "invariant broken: an unbounded stream asked for a timer")
        return stream
    }

    /// One request message, as the client's bytes.
    func send(_ payload: [UInt8], on stream: RecordingStream) {
        _ = payload.withUnsafeBytes { engine.receive(indicatorRequest: $0, from: stream) }
    }

    /// The call is over (client reset or call ended).
    func close(_ stream: RecordingStream) {
        engine.closed(stream)
    }

    /// A trade through the feed's sink, as the live feed and the replay deliver it.
    func trade(symbol: Int, price: Double) -> Int64 {
        let id = nextTradeID
        nextTradeID += 1
        engine.publish(Trade(symbolIndex: symbol, tradeID: id, price: price, quantity: 1,
                             tradeTimeMs: id, eventTimeMs: id, ingestUnixNanos: 0))
        return id
    }

    /// What the indicator batch timer does.
    func emitBatches() {
        engine.emitIndicatorBatches()
    }

    /// StreamPrices streams still in the fan-out.
    var openCalls: Int { engine.registry.count }

    /// Everything the stream has queued since the last call, decoded.
    func responses(of stream: RecordingStream) -> [Tickwire_V1_StreamResponse] {
        stream.read()
    }

    func tearDown() {}
}
