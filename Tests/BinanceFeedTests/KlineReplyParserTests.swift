import Testing
@testable import BinanceFeed

/// Replies to the WebSocket API's `klines`, in the shape Binance documents
/// (websocket-api/market-data-requests#klines).
@Suite struct KlineReplyParserTests {
    let parser = KlineReplyParser()
    static let weight = #"[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}]"#
    static let row = #"[1655971200000,"0.01086000","0.01086600","0.01083600","0.01083800","2290.53800000","#
        + #"1655974799999,"24.85074442",2283,"1171.64000000","12.71225884","0"]"#
    /// An hour without trades: prices carry the last close, volumes are 0.
    static let empty = #"[1655974800000,"0.01083800","0.01083800","0.01083800","0.01083800","0.00000000","#
        + #"1655978399999,"0.00000000",0,"0.00000000","0.00000000","0"]"#

    @Test func theDocumentedReplyWithItsWeight() {
        let text = #"{"id":9,"status":200,"result":[\#(Self.row),\#(Self.empty)],"rateLimits":\#(Self.weight)}"#
        let first = Kline(symbol: "BNBBTC", interval: "1h", openTimeMs: 1655971200000, closeTimeMs: 1655974799999,
                          open: 0.01086, high: 0.010866, low: 0.010836, close: 0.010838, baseVolume: 2290.538,
                          quoteVolume: 24.85074442, tradeCount: 2283, takerBuyBaseVolume: 1171.64,
                          takerBuyQuoteVolume: 12.71225884)
        var second = first
        (second.openTimeMs, second.closeTimeMs) = (1655974800000, 1655978399999)
        (second.open, second.high, second.low, second.close) = (0.010838, 0.010838, 0.010838, 0.010838)
        (second.baseVolume, second.quoteVolume, second.tradeCount) = (0, 0, 0)
        (second.takerBuyBaseVolume, second.takerBuyQuoteVolume) = (0, 0)
        #expect(parser.parse(text, symbol: "BNBBTC", interval: "1h") == .klines(
            requestID: 9, [first, second], weight: RequestWeight(used: 2, limit: 6000, intervalMs: 60_000)))
    }

    @Test func anEmptyResult() {
        #expect(parser.parse(#"{"result":[],"status":200,"id":1}"#) == .klines(requestID: 1, [], weight: nil))
    }

    @Test func a429WithRetryAfter() {
        let text = #"{"id":3,"status":429,"error":{"code":-1003,"msg":"Too many requests.","#
            + #""data":{"serverTime":1659590000000,"retryAfter":1659590060000}},"rateLimits":\#(Self.weight)}"#
        #expect(parser.parse(text) == .refused(requestID: 3, status: 429, code: -1003, message: "Too many requests.",
                                               retryAfterUnixMs: 1659590060000,
                                               weight: RequestWeight(used: 2, limit: 6000, intervalMs: 60_000)))
    }

    @Test func anInvalidInterval() {
        let text = #"{"id":4,"status":400,"error":{"code":-1120,"msg":"Invalid interval."}}"#
        #expect(parser.parse(text) == .refused(requestID: 4, status: 400, code: -1120, message: "Invalid interval.",
                                               retryAfterUnixMs: nil, weight: nil))
    }

    /// A reply we cannot read keeps its id, so the fetch it answers is not left waiting.
    @Test(arguments: [
        #"{"id":5,"status":200,"result":[[1,"1","1","1","1","1",2,"1",1,"1"]]}"#,  // 10 elements
        #"{"id":5,"status":200,"result":[[1,"1","2","1","1","-1",2,"1",1,"1","1","0"]]}"#,  // negative volume
        #"{"id":5,"status":200,"result":[[1,"1","1","2","1","1",2,"1",1,"1","1","0"]]}"#,  // low above high
        #"{"id":5,"status":200,"result":[[1,"0","1","0","1","1",2,"1",1,"1","1","0"]]}"#,  // zero price
        #"{"id":5,"status":200,"result":[{"t":1}]}"#,  // objects, not arrays
    ])
    func malformedRepliesKeepTheirID(_ text: String) {
        #expect(parser.parse(text) == .malformed(requestID: 5))
    }

    @Test func noIDAtAll() {
        #expect(parser.parse(#"{"status":200,"result":[]}"#) == .malformed(requestID: nil))
        #expect(parser.parse("not json") == .malformed(requestID: nil))
        // Cut off: simdjson's structural pass refuses it before any field is read.
        #expect(parser.parse(#"{"id":5,"status":200,"result":[[1,"1","1","1","1","1",2,"1",1,"1","1","0"],"#)
            == .malformed(requestID: nil))
    }

    @Test func moreThanAThousandIsRefused() {
        let rows = Array(repeating: Self.row, count: KlineReplyParser.maxKlines + 1).joined(separator: ",")
        #expect(parser.parse(#"{"id":6,"status":200,"result":[\#(rows)]}"#) == .malformed(requestID: 6))
    }

    @Test func intervalNamesAreBinancesCaseSensitiveList() {
        #expect(BinanceKlineInterval.isValid("1m") && BinanceKlineInterval.isValid("1d"))
        #expect(!BinanceKlineInterval.isValid("1M") && !BinanceKlineInterval.isValid("1H") && !BinanceKlineInterval.isValid(""))
    }
}
