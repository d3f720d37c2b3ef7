import CBinanceJSON

/// Swift face of the shim's WebSocket API reply parser (`api_reply.cpp`).
/// Replies are rare (one per 1,000 missed trades), so this may allocate.
public final class HistoryReplyParser {
    /// The most trades one reply may carry: Binance's own `limit` cap.
    public static let maxTrades = 1000

    private let parser: OpaquePointer
    private var reply = tw_api_reply()
    private let trades: UnsafeMutablePointer<tw_history_trade>

    public init() {
        guard let parser = tw_api_parser_create() else { fatalError("out of memory creating the API reply parser") }
        self.parser = parser
        trades = .allocate(capacity: Self.maxTrades)
        trades.initialize(repeating: tw_history_trade(), count: Self.maxTrades)
    }

    deinit {
        trades.deallocate()
        tw_api_parser_destroy(parser)
    }

    /// Parses `length` bytes; `capacity` must be at least `length` + the
    /// simdjson padding (BinanceFrameParser.padding).
    public func parse(_ bytes: UnsafeRawPointer, length: Int, capacity: Int) -> HistoryReply {
        let kind = tw_json_parse_api_reply(parser, bytes.assumingMemoryBound(to: UInt8.self), length, capacity,
                                           &reply, trades, Self.maxTrades)
        switch kind {
        case TW_REPLY_TRADES:
            let list = (0..<reply.trade_count).map { index in
                let trade = trades[index]
                return HistoricalTrade(tradeID: trade.trade_id, timeMs: trade.time_ms, price: trade.price,
                                       quantity: trade.quantity, isBuyerMaker: trade.is_buyer_maker != 0)
            }
            return .trades(requestID: reply.request_id, list, weight: weight)
        case TW_REPLY_ERROR:
            return .refused(requestID: reply.request_id, status: Int(reply.status), code: Int(reply.error_code),
                            message: message, retryAfterUnixMs: reply.retry_after_ms >= 0 ? reply.retry_after_ms : nil,
                            weight: weight)
        default:
            return .malformed
        }
    }

    /// Convenience for tests: copies into a padded buffer.
    public func parse(_ text: String) -> HistoryReply {
        var bytes = Array(text.utf8)
        let length = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: BinanceFrameParser.padding))
        return bytes.withUnsafeBytes { parse($0.baseAddress!, length: length, capacity: $0.count) }
    }

    private var weight: RequestWeight? {
        guard reply.weight_used >= 0, reply.weight_limit > 0 else { return nil }
        return RequestWeight(used: Int(reply.weight_used), limit: Int(reply.weight_limit),
                             intervalMs: reply.weight_interval_ms)
    }

    private var message: String {
        let count = Int(reply.message_length)
        return withUnsafeBytes(of: &reply.message) { raw in
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<count]), as: UTF8.self)
        }
    }
}
