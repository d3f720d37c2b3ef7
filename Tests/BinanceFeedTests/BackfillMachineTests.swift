import MarketData
import Testing
@testable import BinanceFeed

/// BackfillMachine on a fake clock: no socket, every reply scripted.
@Suite struct BackfillMachineTests {
    static let ms: Int64 = 1_000_000
    static let s: Int64 = 1_000_000_000
    static let symbols = ["BTCUSDT", "ETHUSDT"]

    static func machine(timeoutNanos: Int64 = 5 * s, maxTrades: Int64 = 50_000) throws -> BackfillMachine {
        let settings = BackfillSettings(endpoint: try BinanceEndpoint(url: "wss://127.0.0.1:9/ws-api/v3"),
                                        timeoutNanos: timeoutNanos, maxTradesPerGap: maxTrades)
        return BackfillMachine(settings: settings, symbolNames: symbols)
    }

    static func live(_ id: Int64, symbol: Int = 1) -> Trade {
        Trade(symbolIndex: symbol, tradeID: id, price: 100, quantity: 1, tradeTimeMs: id, eventTimeMs: id + 1,
              ingestUnixNanos: id)
    }

    static func history(_ ids: some Sequence<Int64>) -> [HistoricalTrade] {
        ids.map { HistoricalTrade(tradeID: $0, timeMs: $0, price: 100, quantity: 1) }
    }

    static func weight(_ used: Int) -> RequestWeight { RequestWeight(used: used, limit: 6000, intervalMs: 60_000) }

    /// The trades and notices an action list hands to the tape, in order.
    static func tape(_ actions: [BackfillAction]) -> [String] {
        actions.compactMap { action in
            switch action {
            case .deliver(let trade): "\(trade.isBackfilled ? "b" : "l")\(trade.tradeID)"
            case .announce(let gap): "gap\(gap.firstMissingID)-\(gap.lastMissingID):\(gap.reason.label)"
            default: nil
            }
        }
    }

    static func sent(_ actions: [BackfillAction]) -> [BackfillRequest] {
        actions.compactMap { if case .send(_, let request) = $0 { request } else { nil } }
    }

    @Test func aGapHoldsTheSymbolFetchesAndDeliversInOrderBeforeTheHeldTrades() throws {
        var m = try Self.machine()
        let found = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        #expect(found.contains(.open(serial: BackfillMachine.firstSerial)))
        #expect(Self.tape(found) == [])
        #expect(m.isHolding(1) && !m.isHolding(0))
        #expect(m.hold(Self.live(111), nowNanos: 1 * Self.ms) == [])
        let opened = m.opened(serial: BackfillMachine.firstSerial, nowNanos: 2 * Self.ms)
        let request = try #require(Self.sent(opened).first)
        #expect(request == BackfillRequest(requestID: 1, symbolIndex: 1, fromID: 101, limit: 9))
        let reply = HistoryReply.trades(requestID: 1, Self.history(101...111), weight: Self.weight(25))
        let done = m.replied(reply, serial: BackfillMachine.firstSerial, readUnixNanos: 77, nowNanos: 3 * Self.ms,
                             nowUnixMs: 0)
        #expect(Self.tape(done) == (101...109).map { "b\($0)" } + ["l110", "l111"])
        #expect(!m.isHolding(1))
        #expect(m.statistics.tradesBackfilled == 9 && m.statistics.requests == 1 && m.statistics.weightUsed == 25)
        guard case .deliver(let first) = done.first(where: { if case .deliver = $0 { true } else { false } }) else {
            Issue.record("nothing delivered")
            return
        }
        #expect(first.ingestUnixNanos == 77 && first.isBackfilled && first.eventTimeMs == first.tradeTimeMs)
    }

    @Test func largeGapsAreFetchedAThousandAtATime() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(2501), lastID: 0, nowNanos: 0)
        var requests = Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0))
        var delivered: [String] = []
        for round in 0..<5 {
            guard let request = requests.first else { break }
            #expect(request.fromID == Int64(round * 1000 + 1))
            let ids = request.fromID..<(request.fromID + Int64(request.limit))
            let actions = m.replied(.trades(requestID: request.requestID, Self.history(ids), weight: nil),
                                    serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
            delivered += Self.tape(actions)
            requests = Self.sent(actions)
        }
        #expect(delivered == (1...2500).map { "b\($0)" } + ["l2501"])
        #expect(m.statistics.requests == 3)
    }

    @Test func idsTheHistoryLacksAreAnnouncedInPlace() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(111), lastID: 100, nowNanos: 0)
        let request = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        let reply = HistoryReply.trades(requestID: request.requestID, Self.history([101, 102, 105, 106]), weight: nil)
        let actions = m.replied(reply, serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
        #expect(Self.tape(actions) == ["b101", "b102", "gap103-104:history_missing", "b105", "b106",
                                       "gap107-110:history_missing", "l111"])
        #expect(m.statistics.unrecoverableGaps == 2 && m.statistics.unrecoverableTrades == 6)
    }

    @Test func aGapLargerThanTheBoundIsAnnouncedAtOnceWithoutHolding() throws {
        var m = try Self.machine(maxTrades: 10)
        let actions = m.gapFound(before: Self.live(112), lastID: 100, nowNanos: 0)
        #expect(Self.tape(actions) == ["gap101-111:too_large", "l112"])
        #expect(!m.isHolding(1) && !m.hasConnection)
    }

    @Test func tooManyHeldLiveTradesEndTheWait() throws {
        var m = try Self.machine(maxTrades: 3)
        _ = m.gapFound(before: Self.live(103), lastID: 100, nowNanos: 0)
        #expect(m.hold(Self.live(104), nowNanos: 0) == [])
        #expect(m.hold(Self.live(105), nowNanos: 0) == [])
        #expect(Self.tape(m.hold(Self.live(106), nowNanos: 0)) == ["gap101-102:too_large", "l103", "l104", "l105", "l106"])
        #expect(!m.isHolding(1))
    }

    @Test func theTimeoutAnnouncesAndReleasesAndALateReplyIsIgnored() throws {
        var m = try Self.machine(timeoutNanos: 5 * Self.s)
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        let request = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        #expect(Self.tape(m.tick(nowNanos: 4 * Self.s)) == [])
        #expect(Self.tape(m.tick(nowNanos: 5 * Self.s)) == ["gap101-109:timeout", "l110"])
        let late = m.replied(.trades(requestID: request.requestID, Self.history(101...109), weight: nil),
                             serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 6 * Self.s, nowUnixMs: 0)
        #expect(Self.tape(late) == [], "a range already announced must not be delivered too")
    }

    @Test func aRefusalOtherThanRateLimitsAnnouncesTheRange() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        let request = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        let reply = HistoryReply.refused(requestID: request.requestID, status: 400, code: -1121,
                                         message: "Invalid symbol.", retryAfterUnixMs: nil, weight: nil)
        let actions = m.replied(reply, serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
        #expect(Self.tape(actions) == ["gap101-109:api_refused", "l110"])
    }

    @Test func a429PausesUntilRetryAfterThenTheSameRangeIsAskedAgain() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        let request = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        let reply = HistoryReply.refused(requestID: request.requestID, status: 429, code: -1003, message: "slow down",
                                         retryAfterUnixMs: 1_000_002_000, weight: nil)
        let actions = m.replied(reply, serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0,
                                nowUnixMs: 1_000_000_000)
        #expect(Self.sent(actions).isEmpty && Self.tape(actions).isEmpty)
        #expect(Self.sent(m.tick(nowNanos: 1999 * Self.ms)).isEmpty)
        let again = try #require(Self.sent(m.tick(nowNanos: 2000 * Self.ms)).first)
        #expect(again.fromID == 101 && again.requestID == request.requestID + 1)
    }

    @Test func a429PastTheDeadlineIsAnnouncedAsARefusal() throws {
        var m = try Self.machine(timeoutNanos: 1 * Self.s)
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        let request = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        _ = m.replied(.refused(requestID: request.requestID, status: 418, code: -1003, message: "banned",
                               retryAfterUnixMs: 60_000, weight: nil),
                      serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
        #expect(Self.tape(m.tick(nowNanos: 1 * Self.s)) == ["gap101-109:api_refused", "l110"])
    }

    @Test func theWeightStopsRequestsBeforeTheLimitUntilTheWindowTurns() throws {
        var m = try Self.machine(timeoutNanos: 60 * Self.s)
        _ = m.gapFound(before: Self.live(3001), lastID: 0, nowNanos: 0)
        let request = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        // 5,990 used: one more request (25) would pass 6,000. The window turns in 15 s.
        let actions = m.replied(.trades(requestID: request.requestID, Self.history(1...1000), weight: Self.weight(5990)),
                                serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 45_000)
        #expect(Self.sent(actions).isEmpty)
        #expect(Self.sent(m.tick(nowNanos: 14 * Self.s)).isEmpty)
        #expect(Self.sent(m.tick(nowNanos: 15 * Self.s)).first?.fromID == 1001)
    }

    @Test func otherSymbolsAreNotHeldAndAreServedInTurn() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(50, symbol: 1), lastID: 40, nowNanos: 0)
        _ = m.gapFound(before: Self.live(20, symbol: 0), lastID: 10, nowNanos: 0)
        #expect(m.isHolding(0) && m.isHolding(1))
        let first = try #require(Self.sent(m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)).first)
        let actions = m.replied(.trades(requestID: first.requestID, Self.history(41...49), weight: nil),
                                serial: BackfillMachine.firstSerial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
        #expect(first.symbolIndex == 0 || first.symbolIndex == 1)
        #expect(Self.sent(actions).first.map { $0.symbolIndex != first.symbolIndex } == true)
    }

    @Test func aConnectionLostMidRequestAsksAgainAfterABackoffAndIdleClosesIt() throws {
        var m = try Self.machine()
        let serial = BackfillMachine.firstSerial
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        _ = m.opened(serial: serial, nowNanos: 0)
        let lost = m.ended(serial: serial, reason: "reset", nowNanos: 10 * Self.ms)
        #expect(!lost.contains { if case .open = $0 { true } else { false } }, "backoff first")
        let reopen = m.tick(nowNanos: 300 * Self.ms)
        #expect(reopen.contains(.open(serial: serial + 1)))
        let request = try #require(Self.sent(m.opened(serial: serial + 1, nowNanos: 310 * Self.ms)).first)
        #expect(request.fromID == 101)
        _ = m.replied(.trades(requestID: request.requestID, Self.history(101...109), weight: nil),
                      serial: serial + 1, readUnixNanos: 0, nowNanos: 320 * Self.ms, nowUnixMs: 0)
        #expect(m.tick(nowNanos: 5 * Self.s) == [])
        #expect(m.tick(nowNanos: 11 * Self.s) == [.close(serial: serial + 1)])
        #expect(!m.hasConnection)
    }

    @Test func aSecondGapWhileHeldQueuesBehindTheHeldTrades() throws {
        var m = try Self.machine()
        let serial = BackfillMachine.firstSerial
        _ = m.gapFound(before: Self.live(105), lastID: 100, nowNanos: 0)
        let first = try #require(Self.sent(m.opened(serial: serial, nowNanos: 0)).first)
        _ = m.hold(Self.live(106), nowNanos: 0)
        #expect(Self.tape(m.gapFound(before: Self.live(110), lastID: 106, nowNanos: 0)) == [])
        let one = m.replied(.trades(requestID: first.requestID, Self.history(101...104), weight: nil),
                            serial: serial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
        #expect(Self.tape(one) == ["b101", "b102", "b103", "b104", "l105", "l106"])
        let second = try #require(Self.sent(one).first)
        #expect(second.fromID == 107 && second.limit == 3)
        let two = m.replied(.trades(requestID: second.requestID, Self.history(107...109), weight: nil),
                            serial: serial, readUnixNanos: 0, nowNanos: 0, nowUnixMs: 0)
        #expect(Self.tape(two) == ["b107", "b108", "b109", "l110"])
        #expect(!m.isHolding(1))
    }

    @Test func shutdownReleasesEverythingAndAnnouncesWhatIsLeft() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        _ = m.opened(serial: BackfillMachine.firstSerial, nowNanos: 0)
        let actions = m.shutdown(nowNanos: 0)
        #expect(Self.tape(actions) == ["gap101-109:timeout", "l110"])
        #expect(actions.contains(.end(serial: BackfillMachine.firstSerial, reason: "shutdown")))
        #expect(Self.tape(m.gapFound(before: Self.live(120), lastID: 110, nowNanos: 0)) == [])
        #expect(Self.sent(m.tick(nowNanos: Self.s)).isEmpty, "nothing reconnects after shutdown")
    }

    @Test func aRequestWithoutAReplyEndsTheConnectionAndTheNextGapIsStillServed() throws {
        var m = try Self.machine(timeoutNanos: 1 * Self.s)
        let serial = BackfillMachine.firstSerial
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        #expect(Self.sent(m.opened(serial: serial, nowNanos: 0)).count == 1)
        let expired = m.tick(nowNanos: 1 * Self.s)
        #expect(Self.tape(expired) == ["gap101-109:timeout", "l110"])
        #expect(expired.contains(.end(serial: serial, reason: "no reply within --backfill-timeout")))
        _ = m.ended(serial: serial, reason: "no reply within --backfill-timeout", nowNanos: 1 * Self.s)
        #expect(m.gapFound(before: Self.live(120), lastID: 110, nowNanos: 2 * Self.s).contains(.open(serial: serial + 1)))
        #expect(Self.sent(m.opened(serial: serial + 1, nowNanos: 2 * Self.s)).first?.fromID == 111)
    }
}
