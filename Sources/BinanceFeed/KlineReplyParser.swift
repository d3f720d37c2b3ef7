import CBinanceJSON

/// Swift face of the shim's `klines` reply parser (`kline_reply.cpp`).
/// Replies are rare (one per warm-up fetch), so this may allocate.
public final class KlineReplyParser {
    /// The most klines one reply may carry: Binance's own `limit` cap.
    public static let maxKlines = 1000

    private let parser: OpaquePointer
    private var reply = tw_api_reply()
    private let klines: UnsafeMutablePointer<tw_kline>

    public init() {
        guard let parser = tw_api_parser_create() else { fatalError("out of memory creating the kline reply parser") }
        self.parser = parser
        klines = .allocate(capacity: Self.maxKlines)
        klines.initialize(repeating: tw_kline(), count: Self.maxKlines)
    }

    deinit {
        klines.deallocate()
        tw_api_parser_destroy(parser)
    }

    /// Parses `length` bytes; `capacity` must be at least `length` + the
    /// simdjson padding. The reply names no symbol or interval, so the
    /// request's are given.
    public func parse(_ bytes: UnsafeRawPointer, length: Int, capacity: Int, symbol: String,
                      interval: String) -> KlineReply {
        var count = 0
        let kind = tw_json_parse_kline_reply(parser, bytes.assumingMemoryBound(to: UInt8.self), length, capacity,
                                             &reply, klines, Self.maxKlines, &count)
        switch kind {
        case TW_KLINE_REPLY_KLINES:
            let list = (0..<count).map { index in
                let k = klines[index]
                return Kline(symbol: symbol, interval: interval, openTimeMs: k.open_time_ms,
                             closeTimeMs: k.close_time_ms, open: k.open, high: k.high, low: k.low, close: k.close,
                             baseVolume: k.base_volume, quoteVolume: k.quote_volume, tradeCount: k.trade_count,
                             takerBuyBaseVolume: k.taker_buy_base_volume,
                             takerBuyQuoteVolume: k.taker_buy_quote_volume)
            }
            return .klines(requestID: reply.request_id, list, weight: weight)
        case TW_KLINE_REPLY_ERROR:
            return .refused(requestID: reply.request_id, status: Int(reply.status), code: Int(reply.error_code),
                            message: message, retryAfterUnixMs: reply.retry_after_ms >= 0 ? reply.retry_after_ms : nil,
                            weight: weight)
        default:
            return .malformed(requestID: reply.request_id >= 0 ? reply.request_id : nil)
        }
    }

    /// Convenience for tests: copies into a padded buffer.
    public func parse(_ text: String, symbol: String = "BTCUSDT", interval: String = "1m") -> KlineReply {
        var bytes = Array(text.utf8)
        let length = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: BinanceFrameParser.padding))
        return bytes.withUnsafeBytes {
            parse($0.baseAddress!, length: length, capacity: $0.count, symbol: symbol, interval: interval)
        }
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
