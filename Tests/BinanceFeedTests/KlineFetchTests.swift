import MarketData
import Testing
@testable import BinanceFeed

/// Warm-up kline fetches in BackfillMachine, on a fake clock: no socket,
/// every reply scripted. They share the API connection and its weight with
/// the trade backfill, which always goes first.
@Suite struct KlineFetchTests {
    static let ms: Int64 = 1_000_000
    static let s: Int64 = 1_000_000_000
    static let serial = BackfillMachine.firstSerial
    static let btc1m = KlineRequest(symbol: "BTCUSDT", interval: "1m", limit: 1000)
    static let eth1h = KlineRequest(symbol: "ETHUSDT", interval: "1h", limit: 500)

    static func machine() throws -> BackfillMachine {
        let settings = BackfillSettings(endpoint: try BinanceEndpoint(url: "wss://127.0.0.1:9/ws-api/v3"))
        return BackfillMachine(settings: settings, symbolNames: ["BTCUSDT", "ETHUSDT"])
    }

    static func kline(_ minute: Int64) -> Kline {
        Kline(symbol: "BTCUSDT", interval: "1m", openTimeMs: minute * 60_000, closeTimeMs: minute * 60_000 + 59_999,
              open: 10, high: 11, low: 9, close: 10.5, baseVolume: 2, quoteVolume: 21, tradeCount: 3,
              takerBuyBaseVolume: 1, takerBuyQuoteVolume: 10.5)
    }

    static func sentKlines(_ actions: [BackfillAction]) -> [(id: Int64, request: KlineRequest)] {
        actions.compactMap { if case .sendKlines(_, let id, let request) = $0 { (id, request) } else { nil } }
    }

    static func reports(_ actions: [BackfillAction]) -> [KlineFetchReport] {
        actions.compactMap { if case .klines(let report) = $0 { report } else { nil } }
    }

    static func live(_ id: Int64) -> Trade {
        Trade(symbolIndex: 1, tradeID: id, price: 100, quantity: 1, tradeTimeMs: id, eventTimeMs: id, ingestUnixNanos: id)
    }

    /// Queues `request`, opens the link and returns the id it was sent with.
    static func sendFirst(_ m: inout BackfillMachine, _ request: KlineRequest = btc1m, at now: Int64 = 0) throws -> Int64 {
        let (enqueued, queuedActions) = m.requestKlines(request, nowNanos: now)
        #expect(enqueued == .queued && queuedActions == [.open(serial: serial)])
        return try #require(sentKlines(m.opened(serial: serial, nowNanos: now)).first).id
    }

    @Test func aFetchOpensTheConnectionSendsAndReportsTheHistoryThenTheLinkIdlesShut() throws {
        var m = try Self.machine()
        let id = try Self.sendFirst(&m)
        #expect(m.klines.statistics.requests == 1 && m.statistics.weightUsed == 2)
        let history = (0..<3).map(Self.kline)
        let weight = RequestWeight(used: 2, limit: 6000, intervalMs: 60_000)
        let done = m.repliedKlines(.klines(requestID: id, history, weight: weight), serial: Self.serial,
                                   nowNanos: 40 * Self.ms, nowUnixMs: 0)
        #expect(Self.reports(done) == [.fetched(symbol: "BTCUSDT", interval: "1m", klines: history,
                                                durationNanos: 40 * Self.ms, attempts: 1)])
        #expect(m.klines.isEmpty && m.klines.statistics.fetched == 1 && m.klines.statistics.klinesReceived == 3)
        #expect(m.tick(nowNanos: 5 * Self.s) == [])
        #expect(m.tick(nowNanos: 10 * Self.s + 40 * Self.ms) == [.close(serial: Self.serial)])
    }

    @Test func aTradeGapGoesFirstAndAKlineInFlightDoesNotDelayIt() throws {
        var m = try Self.machine()
        _ = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 0)
        _ = m.requestKlines(Self.btc1m, nowNanos: 0)
        let opened = m.opened(serial: Self.serial, nowNanos: 1 * Self.ms)
        #expect(BackfillMachineTests.sent(opened).count == 1 && Self.sentKlines(opened).isEmpty)
        let request = try #require(BackfillMachineTests.sent(opened).first)
        let repaired = m.replied(.trades(requestID: request.requestID, BackfillMachineTests.history(101...109),
                                         weight: nil), serial: Self.serial, readUnixNanos: 0, nowNanos: 2 * Self.ms,
                                 nowUnixMs: 0)
        let klineID = try #require(Self.sentKlines(repaired).first).id  // the tape is whole: now the klines
        // A new gap while the klines are in flight is asked for at once.
        let gap = m.gapFound(before: Self.live(120), lastID: 110, nowNanos: 3 * Self.ms)
        #expect(BackfillMachineTests.sent(gap).map(\.fromID) == [111])
        let done = m.repliedKlines(.klines(requestID: klineID, [], weight: nil), serial: Self.serial,
                                   nowNanos: 4 * Self.ms, nowUnixMs: 0)
        #expect(Self.reports(done).count == 1 && m.klines.isEmpty)
    }

    @Test func klinesLeaveRoomInTheWeightForATradeRequest() throws {
        var m = try Self.machine()
        let id = try Self.sendFirst(&m)
        _ = m.requestKlines(Self.eth1h, nowNanos: 0)
        // 5,974 used: 2 more for the klines would leave less than 25 for trades.
        let full = RequestWeight(used: 5974, limit: 6000, intervalMs: 60_000)
        let held = m.repliedKlines(.klines(requestID: id, [], weight: full), serial: Self.serial,
                                   nowNanos: 1 * Self.ms, nowUnixMs: 0)
        #expect(Self.sentKlines(held).isEmpty)
        #expect(Self.sentKlines(m.tick(nowNanos: 500 * Self.ms)).isEmpty)
        // noteWeight paused nothing (one trade request still fits), and a reply
        // starting the new window makes room.
        m.statistics.weightUsed = 0
        #expect(Self.sentKlines(m.tick(nowNanos: 600 * Self.ms)).map(\.request) == [Self.eth1h])
    }

    @Test func a429PausesEverythingUntilRetryAfterAndKeepsTheFetchsTries() throws {
        var m = try Self.machine()
        let id = try Self.sendFirst(&m)
        let refused = m.repliedKlines(.refused(requestID: id, status: 429, code: -1003, message: "Too many requests.",
                                              retryAfterUnixMs: 1_000_003_000, weight: nil),
                                     serial: Self.serial, nowNanos: 10 * Self.ms, nowUnixMs: 1_000_000_000)
        #expect(Self.reports(refused) == [.retrying(symbol: "BTCUSDT", interval: "1m",
                                                    reason: "status 429, code -1003: Too many requests.",
                                                    retryInMs: 3000, attempt: 1)])
        // A gap found meanwhile waits too: the IP is over its limit.
        let gap = m.gapFound(before: Self.live(110), lastID: 100, nowNanos: 1 * Self.s)
        #expect(BackfillMachineTests.sent(gap).isEmpty)
        let resumed = m.tick(nowNanos: 3 * Self.s + 10 * Self.ms)
        #expect(BackfillMachineTests.sent(resumed).count == 1 && Self.sentKlines(resumed).isEmpty)  // trades first
        #expect(m.klines.inFlight == nil && m.klines.queue.first?.failedTries == 0)
    }

    @Test func a400FailsAtOnceWithItsMessage() throws {
        var m = try Self.machine()
        let id = try Self.sendFirst(&m)
        let refused = m.repliedKlines(.refused(requestID: id, status: 400, code: -1120, message: "Invalid interval.",
                                              retryAfterUnixMs: nil, weight: nil),
                                     serial: Self.serial, nowNanos: 5 * Self.ms, nowUnixMs: 0)
        #expect(Self.reports(refused) == [.failed(symbol: "BTCUSDT", interval: "1m",
                                                  reason: "status 400, code -1120: Invalid interval.",
                                                  durationNanos: 5 * Self.ms, attempts: 1)])
        #expect(m.klines.isEmpty && m.klines.statistics.failed == 1 && m.pausedUntilNanos == 0)
    }

    @Test func aConnectionLostMidRequestRetriesOnTheNextOneThenGivesUpAfterThreeTries() throws {
        var m = try Self.machine()
        _ = try Self.sendFirst(&m)
        var now: Int64 = 0
        var seen: [KlineFetchReport] = []
        for attempt in 1...3 {
            now += 10 * Self.s
            let ended = m.ended(serial: m.currentSerial!, reason: "peer closed", nowNanos: now)
            seen += Self.reports(ended)
            guard attempt < 3 else { break }
            #expect(Self.reports(ended).first.map { if case .retrying = $0 { true } else { false } } == true)
            now += 10 * Self.s  // past the backoff
            let reopen = m.tick(nowNanos: now)
            guard case .open(let next)? = reopen.first else { Issue.record("no reconnect: \(reopen)"); return }
            #expect(Self.sentKlines(m.opened(serial: next, nowNanos: now)).map(\.request) == [Self.btc1m])
        }
        guard case .failed(_, _, let reason, _, let attempts)? = seen.last else { Issue.record("\(seen)"); return }
        #expect(attempts == 3 && reason.hasPrefix("API connection ended mid-request: peer closed"))
        #expect(m.klines.isEmpty && m.klines.statistics.retries == 2)
    }

    @Test func anUnreadableReplyIsRetried() throws {
        var m = try Self.machine()
        let id = try Self.sendFirst(&m)
        let actions = m.repliedKlines(.malformed(requestID: id), serial: Self.serial, nowNanos: 0, nowUnixMs: 0)
        #expect(Self.reports(actions) == [.retrying(symbol: "BTCUSDT", interval: "1m", reason: "unreadable reply",
                                                    retryInMs: 250, attempt: 1)])
        #expect(Self.sentKlines(m.tick(nowNanos: 250 * Self.ms)).map(\.request) == [Self.btc1m])
    }

    @Test func aSilentAPIEndsTheConnectionAtTheReplyDeadline() throws {
        var m = try Self.machine()
        _ = try Self.sendFirst(&m)
        #expect(m.tick(nowNanos: 4 * Self.s) == [])
        #expect(m.tick(nowNanos: 5 * Self.s) == [.end(serial: Self.serial, reason: "no klines reply within --backfill-timeout")])
    }

    @Test func aFetchThatCannotGoOutFailsAtItsDeadlineSayingWhy() throws {
        var m = try Self.machine()
        _ = m.requestKlines(Self.btc1m, nowNanos: 0)
        _ = m.ended(serial: Self.serial, reason: "connection refused", nowNanos: 1 * Self.s)
        var now: Int64 = 0
        var failed: [KlineFetchReport] = []
        for _ in 0..<100 where failed.isEmpty {  // a refused connection, every attempt
            now += 1 * Self.s
            for action in m.tick(nowNanos: now) {
                if case .open(let serial) = action { _ = m.ended(serial: serial, reason: "connection refused", nowNanos: now) }
                if case .klines(let report) = action { failed.append(report) }
            }
        }
        #expect(failed == [.failed(symbol: "BTCUSDT", interval: "1m", reason: "not fetched within 60s",
                                   durationNanos: 60 * Self.s, attempts: 0)])
    }

    @Test func theSameRequestIsQueuedOnceAndAStaleReplyIsIgnored() throws {
        var m = try Self.machine()
        let id = try Self.sendFirst(&m)
        #expect(m.requestKlines(Self.btc1m, nowNanos: 0).0 == .alreadyQueued)
        #expect(m.repliedKlines(.klines(requestID: id + 7, [], weight: nil), serial: Self.serial, nowNanos: 0,
                                nowUnixMs: 0) == [])
        #expect(m.klines.inFlight != nil)
    }

    @Test func shutdownFailsEveryFetch() throws {
        var m = try Self.machine()
        _ = try Self.sendFirst(&m)
        _ = m.requestKlines(Self.eth1h, nowNanos: 0)
        let reports = Self.reports(m.shutdown(nowNanos: 1 * Self.s))
        #expect(reports.count == 2 && reports.allSatisfy {
            if case .failed(_, _, "the server is stopping", _, _) = $0 { true } else { false }
        })
    }

    @Test func theRequestTextIsBinances() {
        var request = Self.btc1m
        #expect(BackfillCoordinator.klinesRequestText(request, requestID: 8)
            == #"{"id":8,"method":"klines","params":{"symbol":"BTCUSDT","interval":"1m","limit":1000}}"#)
        request.startTimeMs = 1
        request.endTimeMs = 2
        #expect(BackfillCoordinator.klinesRequestText(request, requestID: 9)
            == #"{"id":9,"method":"klines","params":{"symbol":"BTCUSDT","interval":"1m","limit":1000,"startTime":1,"endTime":2}}"#)
    }
}

extension BackfillMachine {
    /// The serial of the connection the link holds or is opening.
    var currentSerial: UInt32? {
        switch link {
        case .closed: nil
        case .connecting(let serial, _), .open(let serial, _, _): serial
        }
    }
}

/// What `LiveFeed.requestKlines` refuses before anything is queued.
@Suite struct KlineRequestValidationTests {
    static let served = ["BTCUSDT", "ETHUSDT"]

    static func check(_ symbol: String = "btcusdt", interval: String = "1m", limit: Int = 1000,
                      start: Int64? = nil, end: Int64? = nil) -> Result<KlineRequest, KlineRequestError> {
        Result { () throws(KlineRequestError) in
            try KlineRequest(symbol: symbol, interval: interval, limit: limit, startTimeMs: start, endTimeMs: end,
                             servedSymbols: served)
        }
    }

    @Test func aServedSymbolInAnyCaseAndABinanceInterval() {
        #expect(Self.check("btcusdt", interval: "1h", limit: 14, start: 5, end: 5)
            == .success(KlineRequest(symbol: "BTCUSDT", interval: "1h", limit: 14, startTimeMs: 5, endTimeMs: 5)))
    }

    @Test func whatBinanceWouldRefuseIsRefusedHere() {
        #expect(Self.check("solusdt") == .failure(.unknownSymbol("solusdt")))
        #expect(Self.check(interval: "1M") == .failure(.invalidInterval("1M")))
        #expect(Self.check(interval: "1w") == .failure(.invalidInterval("1w")))
        #expect(Self.check(limit: 0) == .failure(.invalidLimit(0)))
        #expect(Self.check(limit: 1001) == .failure(.invalidLimit(1001)))
        #expect(Self.check(start: 10, end: 9) == .failure(.invalidTimeRange(startTimeMs: 10, endTimeMs: 9)))
        #expect(Self.check(start: -1) == .failure(.invalidTimeRange(startTimeMs: -1, endTimeMs: nil)))
    }
}
