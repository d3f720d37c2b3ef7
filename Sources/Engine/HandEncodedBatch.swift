import GRPCWire
import SwiftProtobuf
import TickwireProto

/// A batch message that writes its own `StreamResponse` bytes.
///
/// swift-protobuf's size pass walks a repeated field through generic code
/// that allocates a coroutine frame per element (heaptrack: about 18
/// allocation calls per batch of ten), so batch rounds allocated in proportion
/// to what they sent. These batches are written by hand instead, straight into
/// a recycled `WireMessage`, the way `PriceUpdateEncoder` writes a trade.
/// Field order and the omission of proto3 defaults match swift-protobuf, and
/// debug builds check every batch byte for byte against it
/// (`SharedBatchEncoder`), so a field added to the proto and not here fails
/// every debug test that sends one.
protocol HandEncodedBatch: Equatable {
    /// The `StreamResponse.payload` field this batch travels in.
    static var responseFieldNumber: Int { get }
    /// Bytes of the batch message itself (without the response's key and length).
    var encodedSize: Int { get }
    func write(to writer: inout ProtobufWriter)
    /// The same response built by swift-protobuf, the reference the debug check compares with.
    var reference: Tickwire_V1_StreamResponse { get }
}

extension HandEncodedBatch {
    /// Bytes of `StreamResponse { <field>: self }`.
    var responseSize: Int { ProtobufWriter.delimitedSize(fieldNumber: Self.responseFieldNumber, payload: encodedSize) }

    func writeResponse(to writer: inout ProtobufWriter) {
        writer.writeDelimitedHeader(fieldNumber: Self.responseFieldNumber, length: encodedSize)
        write(to: &writer)
    }
}

extension Tickwire_V1_IndicatorBatch: HandEncodedBatch {
    static var responseFieldNumber: Int { 2 }

    var encodedSize: Int {
        var size = 0
        for update in updates { size += ProtobufWriter.delimitedSize(fieldNumber: 1, payload: update.encodedSize) }
        return size
    }

    func write(to writer: inout ProtobufWriter) {
        for update in updates {
            writer.writeDelimitedHeader(fieldNumber: 1, length: update.encodedSize)
            update.write(to: &writer)
        }
    }

    var reference: Tickwire_V1_StreamResponse {
        var response = Tickwire_V1_StreamResponse()
        response.indicators = self
        return response
    }
}

extension Tickwire_V1_CandleBatch: HandEncodedBatch {
    static var responseFieldNumber: Int { 6 }

    var encodedSize: Int {
        var size = 0
        for candle in candles { size += ProtobufWriter.delimitedSize(fieldNumber: 1, payload: candle.encodedSize) }
        return size
    }

    func write(to writer: inout ProtobufWriter) {
        for candle in candles {
            writer.writeDelimitedHeader(fieldNumber: 1, length: candle.encodedSize)
            candle.write(to: &writer)
        }
    }

    var reference: Tickwire_V1_StreamResponse {
        var response = Tickwire_V1_StreamResponse()
        response.candles = self
        return response
    }
}

extension Tickwire_V1_IndicatorUpdate {
    var encodedSize: Int {
        typealias W = ProtobufWriter
        return W.stringFieldSize(fieldNumber: 1, symbol)
            + W.varintFieldSize(fieldNumber: 2, W.enumWireValue(type.rawValue))
            + W.varintFieldSize(fieldNumber: 3, UInt64(period))
            + W.doubleFieldSize(fieldNumber: 4, value)
            + W.int64FieldSize(fieldNumber: 5, tradeID)
            + W.int64FieldSize(fieldNumber: 6, tradeTimeMs)
            + W.varintFieldSize(fieldNumber: 7, W.enumWireValue(interval.rawValue))
            + W.varintFieldSize(fieldNumber: 8, forming ? 1 : 0)
    }

    func write(to writer: inout ProtobufWriter) {
        writer.writeString(fieldNumber: 1, symbol)
        writer.writeVarintField(fieldNumber: 2, ProtobufWriter.enumWireValue(type.rawValue))
        writer.writeVarintField(fieldNumber: 3, UInt64(period))
        writer.writeDouble(fieldNumber: 4, value)
        writer.writeInt64(fieldNumber: 5, tradeID)
        writer.writeInt64(fieldNumber: 6, tradeTimeMs)
        writer.writeVarintField(fieldNumber: 7, ProtobufWriter.enumWireValue(interval.rawValue))
        writer.writeVarintField(fieldNumber: 8, forming ? 1 : 0)
    }
}

extension Tickwire_V1_Candle {
    var encodedSize: Int {
        typealias W = ProtobufWriter
        return W.stringFieldSize(fieldNumber: 1, symbol)
            + W.varintFieldSize(fieldNumber: 2, W.enumWireValue(interval.rawValue))
            + W.int64FieldSize(fieldNumber: 3, openTimeMs)
            + W.int64FieldSize(fieldNumber: 4, closeTimeMs)
            + W.doubleFieldSize(fieldNumber: 5, open)
            + W.doubleFieldSize(fieldNumber: 6, high)
            + W.doubleFieldSize(fieldNumber: 7, low)
            + W.doubleFieldSize(fieldNumber: 8, close)
            + W.doubleFieldSize(fieldNumber: 9, volume)
            + W.doubleFieldSize(fieldNumber: 10, quoteVolume)
            + W.int64FieldSize(fieldNumber: 11, tradeCount)
            + W.doubleFieldSize(fieldNumber: 12, takerBuyVolume)
            + W.doubleFieldSize(fieldNumber: 13, takerBuyQuoteVolume)
            + W.int64FieldSize(fieldNumber: 14, firstTradeID)
            + W.int64FieldSize(fieldNumber: 15, lastTradeID)
            + W.varintFieldSize(fieldNumber: 16, closed ? 1 : 0)
    }

    func write(to writer: inout ProtobufWriter) {
        writer.writeString(fieldNumber: 1, symbol)
        writer.writeVarintField(fieldNumber: 2, ProtobufWriter.enumWireValue(interval.rawValue))
        writer.writeInt64(fieldNumber: 3, openTimeMs)
        writer.writeInt64(fieldNumber: 4, closeTimeMs)
        writer.writeDouble(fieldNumber: 5, open)
        writer.writeDouble(fieldNumber: 6, high)
        writer.writeDouble(fieldNumber: 7, low)
        writer.writeDouble(fieldNumber: 8, close)
        writer.writeDouble(fieldNumber: 9, volume)
        writer.writeDouble(fieldNumber: 10, quoteVolume)
        writer.writeInt64(fieldNumber: 11, tradeCount)
        writer.writeDouble(fieldNumber: 12, takerBuyVolume)
        writer.writeDouble(fieldNumber: 13, takerBuyQuoteVolume)
        writer.writeInt64(fieldNumber: 14, firstTradeID)
        writer.writeInt64(fieldNumber: 15, lastTradeID)
        writer.writeVarintField(fieldNumber: 16, closed ? 1 : 0)
    }
}
