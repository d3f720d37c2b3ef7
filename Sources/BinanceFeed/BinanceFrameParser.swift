import CBinanceJSON
import MarketData

/// Swift face of the simdjson shim: turns one Binance frame into a Trade.
public final class BinanceFrameParser {
    /// What a frame turned out to be.
    public enum Frame: Equatable {
        case trade(Trade)
        /// Valid JSON that this server does not serve: bookTicker, depth, a reply.
        case ignored
        /// A trade for a symbol this server was not configured with.
        case unknownSymbol
        /// Not JSON, or a trade with a missing or mistyped field.
        case malformed
        /// Binance announced maintenance (event time in ms).
        case serverShutdown(eventTimeMs: Int64)
    }

    /// Readable bytes every input must have after its end.
    public static let padding = tw_json_padding()

    private let parser: OpaquePointer
    private let symbols: SymbolTable
    private var scratch = tw_trade()

    public init(symbols: SymbolTable) {
        guard let parser = tw_json_parser_create() else { fatalError("out of memory creating the JSON parser") }
        self.parser = parser
        self.symbols = symbols
    }

    deinit {
        tw_json_parser_destroy(parser)
    }

    /// Parses `length` bytes at `bytes`; `capacity` readable bytes must be at
    /// least `length + padding` (simdjson reads ahead in 64-byte blocks).
    public func parse(_ bytes: UnsafeRawPointer, length: Int, capacity: Int, ingestUnixNanos: Int64) -> Frame {
        let kind = tw_json_parse_frame(parser, bytes.assumingMemoryBound(to: UInt8.self), length, capacity, &scratch)
        switch kind {
        case TW_FRAME_TRADE:
            let symbolLength = Int(scratch.symbol_length)
            let index = withUnsafeBytes(of: &scratch.symbol) { raw in
                symbols.index(ofUpperCaseBytes: UnsafeRawBufferPointer(rebasing: raw[0..<symbolLength]))
            }
            guard let index else { return .unknownSymbol }
            return .trade(Trade(symbolIndex: index, tradeID: scratch.trade_id, price: scratch.price,
                                quantity: scratch.quantity, tradeTimeMs: scratch.trade_time_ms,
                                eventTimeMs: scratch.event_time_ms, ingestUnixNanos: ingestUnixNanos,
                                isBuyerMaker: scratch.is_buyer_maker != 0))
        case TW_FRAME_OTHER:
            return .ignored
        case TW_FRAME_SERVER_SHUTDOWN:
            return .serverShutdown(eventTimeMs: scratch.event_time_ms)
        default:
            return .malformed
        }
    }

    /// Convenience for tests and cold paths: copies into a padded buffer.
    public func parse(_ text: String, ingestUnixNanos: Int64 = 0) -> Frame {
        var bytes = Array(text.utf8)
        let length = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Self.padding))
        return bytes.withUnsafeBytes { parse($0.baseAddress!, length: length, capacity: $0.count, ingestUnixNanos: ingestUnixNanos) }
    }
}
