import GRPCWire
import Indicators
import TickwireProto

/// One indicator update as a stream's batch carries it, before encoding:
/// plain values, so that building a stream's batch allocates nothing (the
/// wire message's `values` is an array) and comparing two batches for
/// sharing is a few integer compares per update.
struct IndicatorUpdateDraft: Equatable, HandEncodedMessage {
    var symbol: String
    var key: IndicatorKey
    var outputs: IndicatorOutputs
    var tradeID: Int64
    var tradeTimeMs: Int64
    /// Unspecified for per-trade indicators.
    var interval: Tickwire_V1_CandleInterval = .unspecified
    var forming = false

    /// The same update as swift-protobuf's message (tests, and the debug check).
    var message: Tickwire_V1_IndicatorUpdate {
        var update = Tickwire_V1_IndicatorUpdate()
        update.symbol = symbol
        update.describe(key, outputs)
        update.tradeID = tradeID
        update.tradeTimeMs = tradeTimeMs
        update.interval = interval
        update.forming = forming
        return update
    }

    /// Field by field as `Tickwire_V1_IndicatorUpdate` (fields 1-10), with
    /// what `describe` derives from the key and the outputs.
    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        sink.stringField(1, symbol)
        sink.varintField(2, ProtobufWriter.enumWireValue(key.kind.wireType.rawValue))
        sink.varintField(3, UInt64(UInt32(key.period)))
        sink.doubleField(4, outputs.first)
        sink.int64Field(5, tradeID)
        sink.int64Field(6, tradeTimeMs)
        sink.varintField(7, ProtobufWriter.enumWireValue(interval.rawValue))
        sink.varintField(8, forming ? 1 : 0)
        if let parameters = key.parameters.wire { sink.messageField(9, parameters) }
        sink.packedDoubles(10, count: outputs.count) { outputs[$0] }
    }
}

/// An IndicatorBatch of drafts, written as `StreamResponse.indicators`.
struct IndicatorBatchDraft: HandEncodedBatch {
    var updates: [IndicatorUpdateDraft] = []

    static var responseFieldNumber: Int { 2 }

    func encode<Sink: ProtobufFieldSink>(to sink: inout Sink) {
        for update in updates { sink.messageField(1, update) }
    }

    var reference: Tickwire_V1_StreamResponse {
        var response = Tickwire_V1_StreamResponse()
        response.indicators.updates = updates.map(\.message)
        return response
    }
}
