import GRPCWire
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

    func update(_ i: Int) -> Tickwire_V1_IndicatorUpdate {
        var update = Tickwire_V1_IndicatorUpdate()
        update.symbol = i == 2 ? "ÉTHUSDT€" : "BTCUSDT"
        update.type = i == 1 ? .rsi : .ema
        update.period = i == 1 ? 200_000 : 14
        update.value = i == 1 ? -0.0 : 61_837.63 * Double(i + 1)
        update.tradeID = i == 1 ? -1 : 3_735_683_259
        update.tradeTimeMs = 1_723_161_255_342
        update.interval = i == 1 ? .candleInterval1D : .candleInterval1M
        update.forming = i % 2 == 0
        return update
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
        var batch = Tickwire_V1_IndicatorBatch()
        #expect(handBytes(batch) == (try batch.reference.serializedBytes() as [UInt8]), "empty")
        batch.updates = (0..<3).map(update) + [Tickwire_V1_IndicatorUpdate()]
        #expect(handBytes(batch) == (try batch.reference.serializedBytes() as [UInt8]))
        let decoded = try Tickwire_V1_StreamResponse(serializedBytes: handBytes(batch))
        #expect(decoded.indicators == batch)
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
