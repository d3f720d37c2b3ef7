import GRPCWire
import MarketData
import SwiftProtobuf
import TickwireProto
@testable import Engine

/// An engine over two symbols with small, explicit limits, and helpers that
/// speak to it the way the server does, for the engine's unit tests.
struct EngineHarness {
    let symbols = try! SymbolTable(["btcusdt", "ethusdt"])
    let engine: PriceDistributor<RecordingStream>
    private var nextTradeID: Int64 = 1

    init(softLimitBytes: Int = 1 << 20, untakenLimitBytes: Int = 16 * 1024, slowTimeoutNanos: Int64 = 10_000_000_000,
         maxIndicators: Int = 16, maxIndicatorsPerConnection: Int = 256) {
        var policy = SlowConsumerPolicy()
        policy.softLimitBytes = softLimitBytes
        policy.untakenLimitBytes = untakenLimitBytes
        policy.timeoutNanos = slowTimeoutNanos
        var settings = IndicatorSettings()
        settings.historyCapacity = 32
        settings.maxPeriod = 32
        settings.maxIndicators = maxIndicators
        settings.maxIndicatorsPerConnection = maxIndicatorsPerConnection
        engine = PriceDistributor(symbols: symbols, streamCapacity: 8,
                                  indicators: IndicatorService(symbols: symbols, settings: settings),
                                  slowConsumers: policy)
    }

    /// The bytes of one price message on the wire. Every harness trade
    /// encodes to the same size (same-length symbols, small ids, 8-byte
    /// doubles), so soft limits can be set in whole messages.
    static let priceMessageBytes: Int = {
        var encoder = PriceUpdateEncoder(symbols: try! SymbolTable(["btcusdt"]))
        return encoder.encode(Trade(symbolIndex: 0, tradeID: 1, price: 100, quantity: 1, tradeTimeMs: 1,
                                    eventTimeMs: 1, ingestUnixNanos: 1)).count
    }()

    /// A soft limit that a backlog of `messages` prices is just over.
    static func softLimit(over messages: Int) -> Int { messages * priceMessageBytes - 1 }

    /// An unbounded StreamPrices stream, or one with a price budget.
    /// `connection`: streams given the same object share one client connection.
    func open(budget: Int? = nil, hardLimitBytes: Int = .max, connection: AnyObject? = nil) -> RecordingStream {
        let stream = RecordingStream(hardLimitBytes: hardLimitBytes, connection: connection)
        _ = engine.open(stream, bound: StreamBound(priceMessages: budget), callTimeoutNanos: nil, nowNanos: 0)
        return stream
    }

    /// The next trade of `symbol`: ids count up across symbols, and the
    /// ingest time follows the id, so "oldest first" is "lowest id first".
    mutating func trade(symbol: Int = 0, price: Double = 100) -> Trade {
        defer { nextTradeID += 1 }
        return Trade(symbolIndex: symbol, tradeID: nextTradeID, price: price, quantity: 1,
                     tradeTimeMs: nextTradeID, eventTimeMs: nextTradeID, ingestUnixNanos: nextTradeID)
    }

    mutating func trades(_ count: Int, symbol: (Int) -> Int = { _ in 0 }) -> [Trade] {
        (0..<count).map { trade(symbol: symbol($0), price: 100 + Double($0)) }
    }

    /// Sends an IndicatorRequest as the client's bytes.
    /// With an `interval`, the indicator is on that interval's candles.
    func request(_ action: Tickwire_V1_IndicatorRequest.Action, _ type: Tickwire_V1_IndicatorType, period: UInt32,
                 symbol: String = "BTCUSDT", interval: Tickwire_V1_CandleInterval = .unspecified,
                 forming: Bool = false, on stream: RecordingStream) -> IndicatorRequestOutcome {
        var request = Tickwire_V1_IndicatorRequest()
        request.action = action
        request.interval = interval
        request.forming = forming
        request.symbol = symbol
        request.type = type
        request.period = period
        request.requestID = "r\(period)"
        let bytes = try! request.serializedBytes() as [UInt8]
        return bytes.withUnsafeBytes { engine.receive(indicatorRequest: $0, from: stream) }
    }
}
