import GRPCWire
import SwiftProtobuf
import TickwireProto

/// A batch that writes its own `StreamResponse` bytes: the CandleBatch
/// message itself, and `IndicatorBatchDraft`, which holds indicator updates
/// as plain values (a `Tickwire_V1_IndicatorUpdate` carries its outputs in an
/// array, one allocation per update built).
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

/// A set oneof member is written even when empty (its presence is the choice);
/// inside, proto3 defaults are left out, and an `optional` double is written
/// whenever it is set, zero included.
extension Tickwire_V1_IndicatorParameters {
    var encodedSize: Int {
        typealias W = ProtobufWriter
        switch kind {
        case .macd(let macd)?:
            return W.delimitedSize(fieldNumber: 1, payload: W.varintFieldSize(fieldNumber: 1, UInt64(macd.fastPeriod))
                + W.varintFieldSize(fieldNumber: 2, UInt64(macd.slowPeriod))
                + W.varintFieldSize(fieldNumber: 3, UInt64(macd.signalPeriod)))
        case .bollinger(let bollinger)?:
            return W.delimitedSize(fieldNumber: 2, payload: (bollinger.hasDeviationsUp ? 9 : 0)
                + (bollinger.hasDeviationsDown ? 9 : 0))
        case .stochastic(let stochastic)?:
            return W.delimitedSize(fieldNumber: 3, payload: W.varintFieldSize(fieldNumber: 1, UInt64(stochastic.fastkPeriod))
                + W.varintFieldSize(fieldNumber: 2, UInt64(stochastic.slowkPeriod))
                + W.varintFieldSize(fieldNumber: 3, UInt64(stochastic.slowdPeriod)))
        case .vwap(let vwap)?:
            return W.delimitedSize(fieldNumber: 4, payload: W.varintFieldSize(fieldNumber: 1, W.enumWireValue(vwap.anchor.rawValue)))
        case nil:
            return 0
        }
    }

    func write(to writer: inout ProtobufWriter) {
        typealias W = ProtobufWriter
        switch kind {
        case .macd(let macd)?:
            writer.writeDelimitedHeader(fieldNumber: 1, length: W.varintFieldSize(fieldNumber: 1, UInt64(macd.fastPeriod))
                + W.varintFieldSize(fieldNumber: 2, UInt64(macd.slowPeriod))
                + W.varintFieldSize(fieldNumber: 3, UInt64(macd.signalPeriod)))
            writer.writeVarintField(fieldNumber: 1, UInt64(macd.fastPeriod))
            writer.writeVarintField(fieldNumber: 2, UInt64(macd.slowPeriod))
            writer.writeVarintField(fieldNumber: 3, UInt64(macd.signalPeriod))
        case .bollinger(let bollinger)?:
            writer.writeDelimitedHeader(fieldNumber: 2, length: (bollinger.hasDeviationsUp ? 9 : 0)
                + (bollinger.hasDeviationsDown ? 9 : 0))
            if bollinger.hasDeviationsUp {
                writer.writeVarint(UInt64(1 << 3 | 1))
                writer.writeRawDouble(bollinger.deviationsUp)
            }
            if bollinger.hasDeviationsDown {
                writer.writeVarint(UInt64(2 << 3 | 1))
                writer.writeRawDouble(bollinger.deviationsDown)
            }
        case .stochastic(let stochastic)?:
            writer.writeDelimitedHeader(fieldNumber: 3, length: W.varintFieldSize(fieldNumber: 1, UInt64(stochastic.fastkPeriod))
                + W.varintFieldSize(fieldNumber: 2, UInt64(stochastic.slowkPeriod))
                + W.varintFieldSize(fieldNumber: 3, UInt64(stochastic.slowdPeriod)))
            writer.writeVarintField(fieldNumber: 1, UInt64(stochastic.fastkPeriod))
            writer.writeVarintField(fieldNumber: 2, UInt64(stochastic.slowkPeriod))
            writer.writeVarintField(fieldNumber: 3, UInt64(stochastic.slowdPeriod))
        case .vwap(let vwap)?:
            writer.writeDelimitedHeader(fieldNumber: 4, length: W.varintFieldSize(fieldNumber: 1, W.enumWireValue(vwap.anchor.rawValue)))
            writer.writeVarintField(fieldNumber: 1, W.enumWireValue(vwap.anchor.rawValue))
        case nil:
            return
        }
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
