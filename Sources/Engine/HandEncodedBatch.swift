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
protocol HandEncodedBatch: HandEncodedMessage, Equatable {
    /// The `StreamResponse.payload` field this batch travels in.
    static var responseFieldNumber: Int { get }
    /// The same response built by swift-protobuf, the reference the debug check compares with.
    var reference: Tickwire_V1_StreamResponse { get }
}

extension HandEncodedBatch {
    /// Bytes of `StreamResponse { <field>: self }`.
    var responseSize: Int { ProtobufWriter.delimitedSize(fieldNumber: Self.responseFieldNumber, payload: encodedSize) }

    func writeResponse(to writer: inout ProtobufWriter) {
        writer.messageField(Self.responseFieldNumber, self)
    }
}

extension Tickwire_V1_CandleBatch: HandEncodedBatch {
    static var responseFieldNumber: Int { 6 }

    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        for candle in candles { sink.messageField(1, candle) }
    }

    var reference: Tickwire_V1_StreamResponse {
        var response = Tickwire_V1_StreamResponse()
        response.candles = self
        return response
    }
}

extension Tickwire_V1_Candle: HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        sink.stringField(1, symbol)
        sink.varintField(2, ProtobufWriter.enumWireValue(interval.rawValue))
        sink.int64Field(3, openTimeMs)
        sink.int64Field(4, closeTimeMs)
        sink.doubleField(5, open)
        sink.doubleField(6, high)
        sink.doubleField(7, low)
        sink.doubleField(8, close)
        sink.doubleField(9, volume)
        sink.doubleField(10, quoteVolume)
        sink.int64Field(11, tradeCount)
        sink.doubleField(12, takerBuyVolume)
        sink.doubleField(13, takerBuyQuoteVolume)
        sink.int64Field(14, firstTradeID)
        sink.int64Field(15, lastTradeID)
        sink.varintField(16, closed ? 1 : 0)
    }
}

/// A set oneof member is written even when empty (its presence is the
/// choice); inside, proto3 defaults are left out, and an `optional` double
/// is written whenever it is set, zero included.
extension Tickwire_V1_IndicatorParameters: HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        switch kind {
        case .macd(let macd)?: sink.messageField(1, macd)
        case .bollinger(let bollinger)?: sink.messageField(2, bollinger)
        case .stochastic(let stochastic)?: sink.messageField(3, stochastic)
        case .vwap(let vwap)?: sink.messageField(4, vwap)
        case nil: break
        }
    }
}

extension Tickwire_V1_MacdParameters: HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        sink.varintField(1, UInt64(fastPeriod))
        sink.varintField(2, UInt64(slowPeriod))
        sink.varintField(3, UInt64(signalPeriod))
    }
}

extension Tickwire_V1_BollingerParameters: HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        if hasDeviationsUp { sink.presentDoubleField(1, deviationsUp) }
        if hasDeviationsDown { sink.presentDoubleField(2, deviationsDown) }
    }
}

extension Tickwire_V1_StochasticParameters: HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        sink.varintField(1, UInt64(fastkPeriod))
        sink.varintField(2, UInt64(slowkPeriod))
        sink.varintField(3, UInt64(slowdPeriod))
    }
}

extension Tickwire_V1_VwapParameters: HandEncodedMessage {
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        sink.varintField(1, ProtobufWriter.enumWireValue(anchor.rawValue))
    }
}
