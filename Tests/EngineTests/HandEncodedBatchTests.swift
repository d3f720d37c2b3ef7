import GRPCWire
import Indicators
import SwiftProtobuf
import Testing
import TickwireProto
@testable import Engine

/// The hand-written batch encodings equal swift-protobuf's byte for byte,
/// for every field set, every field at its default, and the awkward values
/// (negative ids, -0.0, multi-byte varints, a non-ASCII symbol).
@Suite struct HandEncodedBatchTests {
    func handBytes<Batch: HandEncodedBatch>(_ batch: Batch) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: batch.responseSize)
        bytes.withUnsafeMutableBytes { buffer in
            var writer = ProtobufWriter(buffer)
            batch.writeResponse(to: &writer)
            #expect(writer.offset == batch.responseSize)
        }
        return bytes
    }

    /// Every kind with its parameters, one to three outputs, the awkward values.
    func updates() -> [IndicatorUpdateDraft] {
        let keys: [(IndicatorKind, Int, IndicatorParameters)] = [
            (.sma, 20, .none), (.rsi, 200_000, .none), (.macd, 0, .macdDefault),
            (.bollinger, 20, .bollinger(deviationsUp: 2, deviationsDown: 0)), (.atr, 14, .none),
            (.stochastic, 0, .stochastic(fastK: 5, slowK: 3, slowD: 3)), (.vwap, 0, .vwap(.candle)),
            (.vwap, 0, .vwap(.utcDay)),
        ]
        let outputs = [IndicatorOutputs(-0.0), IndicatorOutputs(0), IndicatorOutputs(61_837.63, -1.5, 0),
                       IndicatorOutputs(62_000.5, 61_837.63, 61_700.25), IndicatorOutputs(12.5),
                       IndicatorOutputs(80.25, 75.5), IndicatorOutputs(61_800.125), IndicatorOutputs(1e-300)]
        return keys.indices.map { i in
            let (kind, period, parameters) = keys[i]
            return IndicatorUpdateDraft(symbol: i == 2 ? "ÉTHUSDT€" : "BTCUSDT",
                                        key: IndicatorKey(symbol: 0, kind: kind, period: period, parameters: parameters),
                                        outputs: outputs[i], tradeID: i == 1 ? -1 : 3_735_683_259 + Int64(i),
                                        tradeTimeMs: i == 4 ? 0 : 1_723_161_255_342,
                                        interval: i < 3 ? .unspecified : .candleInterval1M, forming: i % 2 == 0)
        }
    }

    func candle(_ i: Int) -> Tickwire_V1_Candle {
        var candle = Tickwire_V1_Candle()
        candle.symbol = "BTCUSDT"
        candle.interval = .candleInterval1H
        candle.openTimeMs = 1_723_161_200_000
        candle.closeTimeMs = 1_723_161_259_999
        candle.open = 61_837.63
        candle.high = 61_900.01
        candle.low = i == 1 ? -0.0 : 61_800
        candle.close = 61_850.5
        candle.volume = 12.345
        candle.quoteVolume = 763_000.25
        candle.tradeCount = i == 1 ? 0 : 1_234
        candle.takerBuyVolume = 6.5
        candle.takerBuyQuoteVolume = 401_000.125
        candle.firstTradeID = i == 1 ? -1 : 3_735_683_259
        candle.lastTradeID = i == 1 ? -1 : 3_735_684_492
        candle.closed = i != 1
        return candle
    }

    @Test func indicatorBatchesMatchSwiftProtobuf() throws {
        var batch = IndicatorBatchDraft()
        #expect(handBytes(batch) == (try batch.reference.serializedBytes() as [UInt8]), "empty")
        batch.updates = updates()
        #expect(handBytes(batch) == (try batch.reference.serializedBytes() as [UInt8]))
        let decoded = try Tickwire_V1_StreamResponse(serializedBytes: handBytes(batch))
        #expect(decoded.indicators.updates == batch.updates.map(\.message))
        #expect(decoded.indicators.updates[3].values == [62_000.5, 61_837.63, 61_700.25])
        #expect(decoded.indicators.updates[3].parameters.bollinger.hasDeviationsDown)
    }

    @Test func candleBatchesMatchSwiftProtobuf() throws {
        var batch = Tickwire_V1_CandleBatch()
        batch.candles = (0..<3).map(candle) + [Tickwire_V1_Candle()]
        #expect(handBytes(batch) == (try batch.reference.serializedBytes() as [UInt8]))
        let decoded = try Tickwire_V1_StreamResponse(serializedBytes: handBytes(batch))
        #expect(decoded.candles == batch)
    }

    /// A field the hand encoding does not know fails here (and in every
    /// debug build's SharedBatchEncoder check) rather than vanishing.
    @Test func aFieldTheEncoderSkipsIsCaught() throws {
        var batch = Tickwire_V1_CandleBatch()
        var candle = candle(0)
        candle.unknownFields = UnknownStorage()
        try candle.merge(serializedBytes: [0xF8, 0x07, 0x01] as [UInt8])  // field 127, varint 1
        batch.candles = [candle]
        #expect(handBytes(batch) != (try batch.reference.serializedBytes() as [UInt8]))
    }
}
