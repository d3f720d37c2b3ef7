import GRPCWire
import Indicators
import TickwireProto

/// One indicator update as a stream's batch carries it, before encoding:
/// plain values, so that building a stream's batch allocates nothing (the
/// wire message's `values` is an array) and comparing two batches for
/// sharing is a few integer compares per update.
struct IndicatorUpdateDraft: Equatable {
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
    var encodedSize: Int {
        typealias W = ProtobufWriter
        let parameters = key.parameters.wire
        return W.stringFieldSize(fieldNumber: 1, symbol)
            + W.varintFieldSize(fieldNumber: 2, W.enumWireValue(key.kind.wireType.rawValue))
            + W.varintFieldSize(fieldNumber: 3, UInt64(UInt32(key.period)))
            + W.doubleFieldSize(fieldNumber: 4, outputs.first)
            + W.int64FieldSize(fieldNumber: 5, tradeID)
            + W.int64FieldSize(fieldNumber: 6, tradeTimeMs)
            + W.varintFieldSize(fieldNumber: 7, W.enumWireValue(interval.rawValue))
            + W.varintFieldSize(fieldNumber: 8, forming ? 1 : 0)
            + (parameters.map { W.delimitedSize(fieldNumber: 9, payload: $0.encodedSize) } ?? 0)
            + W.delimitedSize(fieldNumber: 10, payload: 8 * outputs.count)  // packed; never empty
    }

    func write(to writer: inout ProtobufWriter) {
        writer.writeString(fieldNumber: 1, symbol)
        writer.writeVarintField(fieldNumber: 2, ProtobufWriter.enumWireValue(key.kind.wireType.rawValue))
        writer.writeVarintField(fieldNumber: 3, UInt64(UInt32(key.period)))
        writer.writeDouble(fieldNumber: 4, outputs.first)
        writer.writeInt64(fieldNumber: 5, tradeID)
        writer.writeInt64(fieldNumber: 6, tradeTimeMs)
        writer.writeVarintField(fieldNumber: 7, ProtobufWriter.enumWireValue(interval.rawValue))
        writer.writeVarintField(fieldNumber: 8, forming ? 1 : 0)
        if let parameters = key.parameters.wire {
            writer.writeDelimitedHeader(fieldNumber: 9, length: parameters.encodedSize)
            parameters.write(to: &writer)
        }
        writer.writeDelimitedHeader(fieldNumber: 10, length: 8 * outputs.count)
        for index in 0..<outputs.count { writer.writeRawDouble(outputs[index]) }
    }
}

/// An IndicatorBatch of drafts, written as `StreamResponse.indicators`.
struct IndicatorBatchDraft: HandEncodedBatch {
    var updates: [IndicatorUpdateDraft] = []

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
        response.indicators.updates = updates.map(\.message)
        return response
    }
}
