import Testing
@testable import BinanceFeed

/// The WebSocket API replies to trades.historical, as Binance documents them.
@Suite struct HistoryReplyParserTests {
    let parser = HistoryReplyParser()
    static let weight = #"[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":75}]"#

    @Test func aResultWithTradesAndTheRequestWeight() {
        let text = #"{"id":7,"status":200,"result":[{"id":28457,"price":"4.00000100","qty":"12.00000000","#
            + #""quoteQty":"48.000012","time":1499865549590,"isBuyerMaker":true,"isBestMatch":true},"#
            + #"{"id":28458,"price":"4.5","qty":"0.001","quoteQty":"0.0045","time":1499865549591,"#
            + #""isBuyerMaker":false,"isBestMatch":true}],"rateLimits":\#(Self.weight)}"#
        #expect(parser.parse(text) == .trades(requestID: 7, [
            HistoricalTrade(tradeID: 28457, timeMs: 1499865549590, price: 4.000001, quantity: 12, isBuyerMaker: true),
            HistoricalTrade(tradeID: 28458, timeMs: 1499865549591, price: 4.5, quantity: 0.001),
        ], weight: RequestWeight(used: 75, limit: 6000, intervalMs: 60_000)))
    }

    @Test func fieldsInAnyOrderAndNoRateLimits() {
        let text = #"{"result":[],"status":200,"id":1}"#
        #expect(parser.parse(text) == .trades(requestID: 1, [], weight: nil))
    }

    @Test func a429WithRetryAfter() {
        let text = #"{"id":3,"status":429,"error":{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE.","#
            + #""data":{"serverTime":1659590000000,"retryAfter":1659590060000}},"rateLimits":\#(Self.weight)}"#
        guard case .refused(3, 429, -1003, let message, 1659590060000, let weight) = parser.parse(text) else {
            Issue.record("not a 429 with its Retry-After: \(parser.parse(text))")
            return
        }
        #expect(message.hasPrefix("Too much request weight used"))
        #expect(weight?.used == 75)
    }

    @Test func anErrorWithoutData() {
        let text = #"{"id":4,"status":400,"error":{"code":-1121,"msg":"Invalid symbol."}}"#
        #expect(parser.parse(text) == .refused(requestID: 4, status: 400, code: -1121, message: "Invalid symbol.",
                                               retryAfterUnixMs: nil, weight: nil))
    }

    @Test func malformedReplies() {
        let cases = [
            "", "not json", "[]", #"{"status":200,"result":[]}"#, #"{"id":1,"result":[]}"#,
            #"{"id":1,"status":200}"#, #"{"id":1,"status":400}"#,
            #"{"id":1,"status":200,"result":[{"id":5,"price":4,"qty":"1","time":1}]}"#,
            #"{"id":1,"status":200,"result":[{"id":5,"price":"-4","qty":"1","time":1}]}"#,
            #"{"id":1,"status":200,"result":[{"id":5,"price":"4","qty":"1"}]}"#,
            #"{"id":1,"status":200,"result":[{"id":5,"price":"4","qty":"1","time":1}"#,
        ]
        for text in cases {
            #expect(parser.parse(text) == .malformed, "\(text)")
        }
    }

    @Test func moreTradesThanAReplyMayHoldIsMalformed() {
        let one = #"{"id":1,"price":"1","qty":"1","quoteQty":"1","time":1,"isBuyerMaker":true,"isBestMatch":true}"#
        let text = #"{"id":1,"status":200,"result":["# + Array(repeating: one, count: 1001).joined(separator: ",") + "]}"
        #expect(parser.parse(text) == .malformed)
    }

    @Test func theRequestText() {
        let request = BackfillRequest(requestID: 9, symbolIndex: 1, fromID: 1520538926, limit: 1000)
        #expect(BackfillCoordinator.requestText(request, method: "trades.historical", symbol: "ETHUSDT")
                == #"{"id":9,"method":"trades.historical","params":{"symbol":"ETHUSDT","fromId":1520538926,"limit":1000}}"#)
    }

    /// trades.aggregate (for --stream aggTrade) answers in the stream's letters.
    @Test func anAggregateResult() {
        let text = #"{"id":2,"status":200,"result":[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"#
            + #""l":27781,"T":1498793709153,"m":true,"M":true}],"rateLimits":\#(Self.weight)}"#
        #expect(parser.parse(text) == .trades(requestID: 2, [
            HistoricalTrade(tradeID: 26129, timeMs: 1498793709153, price: 0.01633102, quantity: 4.70443515,
                            isBuyerMaker: true),
        ], weight: RequestWeight(used: 75, limit: 6000, intervalMs: 60_000)))
    }

    @Test func aggTradeFeedsAskForAggregates() throws {
        let endpoint = try BinanceEndpoint(url: "wss://127.0.0.1:9/ws-api/v3")
        let settings = BackfillSettings(endpoint: endpoint, stream: .aggTrade)
        #expect(settings.method == "trades.aggregate" && settings.requestWeight == 4)
        #expect(BackfillSettings(endpoint: endpoint).method == "trades.historical")
    }
}
