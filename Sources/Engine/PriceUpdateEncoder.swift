import MarketData
import GRPCWire

/// Encodes a trade as a complete gRPC message carrying
/// `StreamResponse { price: PriceUpdate {…} }`: sized first, then written in
/// one pass into one buffer that every stream shares, recycled once every
/// stream is done with it.
public struct PriceUpdateEncoder {
    /// Upper-case symbol bytes, by symbol index, so encoding never touches a String.
    private let symbolBytes: [[UInt8]]
    /// A PriceUpdate is under 100 bytes; 128 fits every one in practice.
    private var messages = WireMessageRecycler(slots: 1024, minimumPayloadCapacity: 128)
    /// Messages that could not be recycled (see WireMessageRecycler).
    public var allocations: Int { messages.allocations }

    public init(symbols: SymbolTable) {
        symbolBytes = symbols.upperCased.map { Array($0.utf8) }
    }

    /// The symbol as clients see it (cold paths: the gap notice).
    public func symbolName(_ symbolIndex: Int) -> String {
        String(decoding: symbolBytes[symbolIndex], as: UTF8.self)
    }

    public mutating func encode(_ trade: Trade) -> WireMessage {
        symbolBytes[trade.symbolIndex].withUnsafeBytes { symbol in
            let inner = Self.priceUpdateSize(trade, symbolCount: symbol.count)
            let total = ProtobufWriter.delimitedSize(fieldNumber: 1, payload: inner)
            return messages.message(payloadCount: total) { buffer in
                var writer = ProtobufWriter(buffer)
                writer.writeDelimitedHeader(fieldNumber: 1, length: inner)  // StreamResponse.price
                writer.writeBytes(fieldNumber: 1, symbol)
                writer.writeDouble(fieldNumber: 2, trade.price)
                writer.writeDouble(fieldNumber: 3, trade.quantity)
                writer.writeInt64(fieldNumber: 4, trade.tradeID)
                writer.writeInt64(fieldNumber: 5, trade.tradeTimeMs)
                writer.writeInt64(fieldNumber: 6, trade.eventTimeMs)
                writer.writeInt64(fieldNumber: 7, trade.ingestUnixNanos)
                if trade.isBackfilled {  // proto3 default: live trades stay byte-identical
                    writer.writeVarint(UInt64(8 << 3))  // PriceUpdate.backfilled, varint
                    writer.writeVarint(1)
                }
                precondition(writer.offset == total, "PriceUpdate size mismatch")
            }
        }
    }

    private static func priceUpdateSize(_ trade: Trade, symbolCount: Int) -> Int {
        (symbolCount == 0 ? 0 : ProtobufWriter.delimitedSize(fieldNumber: 1, payload: symbolCount))
            + ProtobufWriter.doubleFieldSize(fieldNumber: 2, trade.price)
            + ProtobufWriter.doubleFieldSize(fieldNumber: 3, trade.quantity)
            + ProtobufWriter.int64FieldSize(fieldNumber: 4, trade.tradeID)
            + ProtobufWriter.int64FieldSize(fieldNumber: 5, trade.tradeTimeMs)
            + ProtobufWriter.int64FieldSize(fieldNumber: 6, trade.eventTimeMs)
            + ProtobufWriter.int64FieldSize(fieldNumber: 7, trade.ingestUnixNanos)
            + (trade.isBackfilled ? 2 : 0)  // one tag byte, one value byte
    }
}
