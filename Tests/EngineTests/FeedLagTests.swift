import MarketData
import Testing
@testable import Engine

/// The feed lag histograms and last trade times, on made-up trades.
@Suite struct FeedLagTests {
    func trade(symbol: Int = 0, tradeMs: Int64, eventMs: Int64, ingestMs: Int64, backfilled: Bool = false) -> Trade {
        Trade(symbolIndex: symbol, tradeID: 1, price: 1, quantity: 1, tradeTimeMs: tradeMs, eventTimeMs: eventMs,
              ingestUnixNanos: ingestMs * 1_000_000, isBackfilled: backfilled)
    }

    @Test func eachLagFallsInTheFirstBucketAtOrAboveIt() {
        var lag = FeedLag(symbolCount: 1)
        lag.observe(trade(tradeMs: 1_000, eventMs: 1_004, ingestMs: 1_005))  // event 1 ms (le 1 ms), trade 5 ms
        lag.observe(trade(tradeMs: 1_000, eventMs: 1_000, ingestMs: 1_000 + 400_000))  // past 300 s: +Inf
        #expect(lag.eventLag.count == 2 && lag.tradeLag.count == 2)
        #expect(lag.eventLag.bucketCounts[0] == 1)
        #expect(lag.tradeLag.bucketCounts[1] == 1)  // le 5 ms
        #expect(lag.eventLag.bucketCounts.last == 1 && lag.tradeLag.bucketCounts.last == 1)
        #expect(abs(lag.eventLag.sumSeconds - 400.001) < 1e-9)
    }

    @Test func aClockBehindBinancesCountsAsNoLag() {
        var lag = FeedLag(symbolCount: 1)
        lag.observe(trade(tradeMs: 2_000, eventMs: 2_000, ingestMs: 1_000))
        #expect(lag.eventLag.bucketCounts[0] == 1)
        #expect(lag.eventLag.sumSeconds == 0)
    }

    @Test func backfilledTradesMoveTheLastTradeTimeButNotTheLag() {
        var lag = FeedLag(symbolCount: 2)
        lag.observe(trade(symbol: 1, tradeMs: 5_000, eventMs: 5_000, ingestMs: 9_000, backfilled: true))
        lag.observe(trade(symbol: 1, tradeMs: 4_000, eventMs: 4_000, ingestMs: 9_000))  // older: the last stays
        #expect(lag.lastTradeTimeMs == [0, 5_000])
        #expect(lag.eventLag.count == 1 && lag.tradeLag.count == 1)
    }

    @Test func theDistributorObservesEveryTradeOnBothPaths() {
        var harness = EngineHarness()
        _ = harness.open()
        harness.engine.publish(harness.trade())
        harness.engine.publish(batch: harness.trades(3, symbol: { $0 % 2 }))
        #expect(harness.engine.feedLag.eventLag.count == 4)
        #expect(harness.engine.feedLag.lastTradeTimeMs.allSatisfy { $0 > 0 })
    }
}
