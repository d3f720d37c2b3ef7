import Foundation
import Reactor
import Testing
@testable import BinanceFeed
import MarketData

/// The repository's copy of the real recording (Tests/Fixtures).
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
let tradesFixture = fixturesDirectory.appendingPathComponent("binance-2024-08-08-btcusdt-ethusdt-trades.jsonl")

let symbols = try! SymbolTable(["btcusdt", "ethusdt"])

@Suite struct FrameParserTests {
    let parser = BinanceFrameParser(symbols: symbols)

    @Test func parsesARealTradeExactly() {
        let line = #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#
        #expect(parser.parse(line, ingestUnixNanos: 42) == .trade(Trade(
            symbolIndex: 0, tradeID: 3735683259, price: 61837.63, quantity: 0.02,
            tradeTimeMs: 1723161255342, eventTimeMs: 1723161255343, ingestUnixNanos: 42, isBuyerMaker: true)))
    }

    /// Candles' taker-buy volume counts trades whose buyer was the taker (m false).
    @Test func readsTheBuyerMakerFlagAndToleratesItsAbsence() {
        let taker = #"{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5","q":"2","T":1,"m":false,"M":true}"#
        let absent = #"{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5","q":"2","T":1}"#
        let wrongType = #"{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5","q":"2","T":1,"m":"yes"}"#
        guard case .trade(let sell) = parser.parse(taker), case .trade(let bare) = parser.parse(absent) else {
            Issue.record("not trades"); return
        }
        #expect(sell.isBuyerMaker == false)
        #expect(bare.isBuyerMaker == false)
        #expect(parser.parse(wrongType) == .malformed)
    }

    @Test func parsesAggTradeByItsAggregateID() {
        let line = #"{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"ETHUSDT","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}}"#
        guard case .trade(let trade) = parser.parse(line) else { Issue.record("not a trade"); return }
        #expect(trade.symbolIndex == 1)
        #expect(trade.tradeID == 12345)
        #expect(trade.price == 0.001)
        #expect(trade.quantity == 100)
    }

    @Test func bareEventsAndOtherStreamsAreIgnoredNotMalformed() {
        #expect(parser.parse(#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#) == .ignored)
        #expect(parser.parse(#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]}}"#) == .ignored)
        #expect(parser.parse(#"{"result":null,"id":1}"#) == .ignored)
        #expect(parser.parse(#"{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5","q":"2","T":1}"#) != .malformed)
    }

    @Test func thePriceCapItselfIsAValidPrice() {
        #expect(parser.parse(#"{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1000000000000000","q":"1000000000000000","T":1}"#) != .malformed)
    }

    @Test func serverShutdownIsRecognised() {
        #expect(parser.parse(#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1700000000000}}"#)
                == .serverShutdown(eventTimeMs: 1700000000000))
    }

    @Test func unknownSymbolIsCountedApart() {
        #expect(parser.parse(#"{"stream":"solusdt@trade","data":{"e":"trade","E":1,"s":"SOLUSDT","t":1,"p":"1","q":"1","T":1}}"#) == .unknownSymbol)
    }

    @Test(arguments: [
        "not json at all",
        "",
        "{",
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","p":"1","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":"7","p":"1","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":1.5,"q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.5x","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":7}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"nan","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"inf","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-1.0","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1e400","q":"1","T":1}}"#,
        // Binance never trades at or below zero: "0" and "-0" would reach clients as 0.0 and -0.0.
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"0","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-0","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"0.00000000","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-0.0","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-61837.63","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"NaN","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-inf","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"0","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"-0","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"-2","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"nan","T":1}}"#,
        // Finite but beyond any quote: a thousand of them would overflow an SMA's sum.
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1000000000000001","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"179769313486231570000000000000000000000","T":1}}"#,
        #"[1,2,3]"#,
        // Trailing bytes after the root object (found by fuzz/binance_json).
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1}}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1}}{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":8,"p":"1","q":"1","T":1}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1}} x"#,
        // Garbled after the last field a trade reads: the whole-frame check
        // once skipped the event object by counting brackets, and these passed.
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1,"m":true,"M"true}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1,"m":true,,"M":true}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1,"m":true:,"M":true}}"#,
        #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1,"m":true,"M":t,rue}}"#,
        #"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":1,"m":true,"M"true}"#,
    ])
    func malformedFramesAreReportedAsSuch(line: String) {
        #expect(parser.parse(line) == .malformed)
    }

    @Test func decimalsRoundToTheNearestDoubleLikeSwift() throws {
        let text = try String(contentsOf: tradesFixture, encoding: .utf8)
        var checked = 0
        for line in text.split(separator: "\n").prefix(3000) {
            guard case .trade(let trade) = parser.parse(String(line)) else { Issue.record("not a trade: \(line)"); return }
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let data = object["data"] as! [String: Any]
            #expect(trade.price == Double(data["p"] as! String)!)
            #expect(trade.quantity == Double(data["q"] as! String)!)
            #expect(trade.tradeID == (data["t"] as! NSNumber).int64Value)
            checked += 1
        }
        #expect(checked == 3000)
    }

    @Test func symbolTableValidatesInput() throws {
        #expect(throws: SymbolTable.ConfigurationError.empty) { try SymbolTable(list: " , ") }
        #expect(throws: SymbolTable.ConfigurationError.invalid("btc-usdt")) { try SymbolTable(list: "btc-usdt") }
        #expect(throws: SymbolTable.ConfigurationError.duplicate("BTCUSDT")) { try SymbolTable(list: "btcusdt,BTCUSDT") }
        #expect(try SymbolTable(list: " btcusdt , ethusdt ").upperCased == ["BTCUSDT", "ETHUSDT"])
        #expect(ReplaySpeed(parsing: "max") == .max)
        #expect(ReplaySpeed(parsing: "2.5") == .paced(2.5))
        #expect(ReplaySpeed(parsing: "0") == nil)
        #expect(ReplaySpeed(parsing: "fast") == nil)
    }
}

/// Collects what a feed publishes.
final class CollectingSink: TradeSink {
    var trades: [Trade] = []
    func publish(_ trade: Trade) { trades.append(trade) }
}

/// Collects what a feed publishes, and how it was handed over.
final class BatchRecordingSink: TradeSink {
    var trades: [Trade] = []
    /// The size of every hand-over: 1 for `publish(_:)`, the count for a batch.
    var handOvers: [Int] = []
    func publish(_ trade: Trade) {
        trades.append(trade)
        handOvers.append(1)
    }
    func publish(batch trades: [Trade]) {
        self.trades += trades
        handOvers.append(trades.count)
    }
}

/// A clock the test moves by hand.
final class ManualClock: ReactorClock {
    var now: Int64 = 1_000_000_000
    func monotonicNanos() -> Int64 { now }
    func wallUnixNanos() -> Int64 { 1_700_000_000_000_000_000 + now }
}

@Suite struct ReplayFeedTests {
    func writeTemporary(_ lines: [String]) throws -> String {
        let path = NSTemporaryDirectory() + "tickwire-replay-\(UInt64.random(in: 0...UInt64.max)).jsonl"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func maxSpeedPublishesEveryTradeAndCountsTheRest() throws {
        let real = try String(contentsOf: tradesFixture, encoding: .utf8).split(separator: "\n").prefix(500).map(String.init)
        var lines = real
        lines.insert("garbage", at: 10)
        lines.insert(#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"1","A":"1"}}"#, at: 20)
        lines.insert("", at: 30)
        lines.insert(#"{"stream":"btcusdt@trade","data":{"e":"trade""#, at: 40)
        // The replay shares the live parser: prices at or below zero are malformed here too.
        lines.insert(#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"0","q":"1","T":1}}"#, at: 50)
        lines.insert(#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-0","q":"1","T":1}}"#, at: 60)
        lines.insert(#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"-3","q":"1","T":1}}"#, at: 70)
        let path = try writeTemporary(lines)
        defer { unlink(path) }
        let feed = try ReplayFeed(path: path, symbols: symbols, speed: .max)
        let sink = CollectingSink()
        let clock = ManualClock()
        var progress = ReplayFeed.Progress.ready
        for _ in 0..<100 where progress == .ready {
            progress = feed.pump(into: sink, budget: 64, clock: clock)
        }
        #expect(progress == .finished)
        #expect(sink.trades.count == 500)
        #expect(feed.statistics.published == 500)
        #expect(feed.statistics.malformed == 5)
        #expect(feed.statistics.ignored == 1)
        #expect(sink.trades.allSatisfy { $0.ingestUnixNanos > 0 && $0.price > 0 && $0.quantity > 0 })
    }

    @Test func pacedReplayFollowsEventTimeScaledBySpeed() throws {
        let lines = [0, 0, 100, 1000].enumerated().map { index, offsetMs in
            #"{"stream":"btcusdt@trade","data":{"e":"trade","E":\#(1_000 + offsetMs),"s":"BTCUSDT","t":\#(index + 1),"p":"1","q":"1","T":1}}"#
        }
        let path = try writeTemporary(lines)
        defer { unlink(path) }
        let feed = try ReplayFeed(path: path, symbols: symbols, speed: .paced(2))
        let sink = CollectingSink()
        let clock = ManualClock()
        let start = clock.now
        #expect(feed.pump(into: sink, budget: 100, clock: clock) == .dueAt(nanos: start + 50_000_000))
        #expect(sink.trades.count == 2, "both trades at the first timestamp go at once")
        clock.now = start + 50_000_000
        #expect(feed.pump(into: sink, budget: 100, clock: clock) == .dueAt(nanos: start + 500_000_000))
        #expect(sink.trades.map(\.tradeID) == [1, 2, 3])
        clock.now = start + 500_000_000
        #expect(feed.pump(into: sink, budget: 100, clock: clock) == .finished)
        #expect(sink.trades.count == 4)
    }

    @Test func tradesDueTogetherAreHandedOverAsOneBatchInOrder() throws {
        // Trades 1-3 share a timestamp, 4 comes 100 ms later, then 5-9 together.
        let lines = [0, 0, 0, 100, 200, 200, 200, 200, 200].enumerated().map { index, offsetMs in
            #"{"stream":"btcusdt@trade","data":{"e":"trade","E":\#(1_000 + offsetMs),"s":"BTCUSDT","t":\#(index + 1),"p":"1","q":"1","T":1}}"#
        }
        let path = try writeTemporary(lines)
        defer { unlink(path) }
        let feed = try ReplayFeed(path: path, symbols: symbols, speed: .paced(1))
        let sink = BatchRecordingSink()
        let clock = ManualClock()
        let start = clock.now
        #expect(feed.pump(into: sink, budget: 100, clock: clock) == .dueAt(nanos: start + 100_000_000))
        clock.now = start + 100_000_000
        #expect(feed.pump(into: sink, budget: 100, clock: clock) == .dueAt(nanos: start + 200_000_000))
        clock.now = start + 200_000_000
        // The budget splits the last group: 3 now, 2 on the next pump.
        #expect(feed.pump(into: sink, budget: 3, clock: clock) == .ready)
        #expect(feed.pump(into: sink, budget: 3, clock: clock) == .finished)
        #expect(sink.handOvers == [3, 1, 3, 2])
        #expect(sink.trades.map(\.tradeID) == Array(1...9))
        #expect(feed.statistics.published == 9)
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: SystemError.self) { try ReplayFeed(path: "/nonexistent/x.jsonl", symbols: symbols, speed: .max) }
    }
}
