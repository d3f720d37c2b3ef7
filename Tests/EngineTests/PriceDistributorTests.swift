import GRPCWire
import MarketData
import Testing
import TickwireProto
@testable import Engine

/// The engine driven through RecordingStreams: no socket, no reactor, no
/// nghttp2. What each stream is sent, in which order, and when it ends.
@Suite struct PriceDistributorTests {
    @Test func everyStreamGetsEveryTradeOnceInOrderOnBothPaths() {
        var harness = EngineHarness()
        let streams = (0..<3).map { _ in harness.open() }
        for trade in harness.trades(4) { harness.engine.publish(trade) }
        harness.engine.publish(batch: harness.trades(6, symbol: { $0 % 2 }))
        for stream in streams {
            #expect(stream.readTradeIDs() == Array(1...10))
        }
        #expect(harness.engine.tradesPublished == 10)
        #expect(harness.engine.messagesQueued == 30)
    }

    @Test func pastTheSoftLimitOnlyTheLatestTradePerSymbolWaitsThenGoesFirst() {
        var harness = EngineHarness(softLimitBytes: EngineHarness.softLimit(over: 3))
        let slow = harness.open(), fast = harness.open()
        let trades = harness.trades(10, symbol: { $0 % 2 })
        for trade in trades {
            harness.engine.publish(trade)
            _ = fast.read()
        }
        let queuedBeforeSoft = slow.readTradeIDs()
        #expect(queuedBeforeSoft == [1, 2, 3])
        // 4...10 were held, one per symbol: 9 (symbol 0) and 10 (symbol 1) remain.
        #expect(harness.engine.conflatedTrades == 5)
        harness.engine.publish(harness.trade(symbol: 0))
        #expect(slow.readTradeIDs() == [9, 10, 11])
        #expect(slow.isOpen)
    }

    /// Issue 20: thousands of zero-window calls must not each get every
    /// trade up to the soft limit; one that has read nothing conflates sooner.
    @Test func aStreamWhoseReaderTookNothingIsConflatedPastTheSmallerLimit() {
        var harness = EngineHarness(softLimitBytes: EngineHarness.softLimit(over: 12),
                                    untakenLimitBytes: EngineHarness.softLimit(over: 2), slowTimeoutNanos: 1_000)
        let untaken = harness.open(), reading = harness.open()
        untaken.windowNeverOpened = true
        for trade in harness.trades(10, symbol: { $0 % 2 }) { harness.engine.publish(trade) }
        #expect(untaken.backlogBytes == 2 * EngineHarness.priceMessageBytes)
        #expect(reading.backlogBytes == 10 * EngineHarness.priceMessageBytes)
        harness.engine.sweepSlowConsumers(nowNanos: 1)
        harness.engine.sweepSlowConsumers(nowNanos: 2_000)
        #expect(untaken.abandoned)
        #expect(untaken.ending?.message.contains("window never opened") == true)
        #expect(!reading.abandoned, "a reader over nothing but the smaller limit is not slow")
        #expect(reading.readTradeIDs() == Array(1...10))
    }

    @Test func theSweepReleasesHeldTradesWithoutANewTradeAndEndsStreamsSlowForTooLong() {
        var harness = EngineHarness(softLimitBytes: EngineHarness.softLimit(over: 3), slowTimeoutNanos: 1_000)
        let recovering = harness.open(), stuck = harness.open()
        for trade in harness.trades(6) { harness.engine.publish(trade) }
        #expect(recovering.readTradeIDs() == [1, 2, 3])
        harness.engine.sweepSlowConsumers(nowNanos: 10)
        #expect(recovering.readTradeIDs() == [6])
        #expect(stuck.isOpen)
        harness.engine.sweepSlowConsumers(nowNanos: 2_000)
        #expect(stuck.abandoned && stuck.ending?.code == .resourceExhausted)
        #expect(harness.engine.registry.count == 1 && harness.engine.slowStreamsDropped == 1)
    }

    @Test func aStreamOverItsHardLimitLeavesTheFanOut() {
        var harness = EngineHarness()
        let overflowing = harness.open(hardLimitBytes: 3 * EngineHarness.priceMessageBytes), healthy = harness.open()
        harness.engine.publish(batch: harness.trades(5))
        #expect(overflowing.abandoned && overflowing.ending?.code == .resourceExhausted)
        #expect(healthy.readTradeIDs() == Array(1...5))
        #expect(harness.engine.registry.count == 1 && harness.engine.slowStreamsDropped == 1)
    }

    @Test func messageBudgetsEndStreamsAfterExactlyThatManyPrices() {
        var harness = EngineHarness()
        let single = harness.open(budget: 2), batched = harness.open(budget: 3), unbounded = harness.open()
        harness.engine.publish(harness.trade())
        harness.engine.publish(batch: harness.trades(4))
        #expect(single.readTradeIDs() == [1, 2] && single.ending == .ok)
        #expect(batched.readTradeIDs() == [1, 2, 3] && batched.ending == .ok)
        #expect(unbounded.readTradeIDs() == Array(1...5) && unbounded.isOpen)
        #expect(harness.engine.registry.count == 1)
    }

    @Test func indicatorBatchesWaitAtTheSoftLimitAndCatchUpWithTheLatestValue() {
        var harness = EngineHarness(softLimitBytes: EngineHarness.softLimit(over: 3))
        let stream = harness.open()
        #expect(harness.request(.subscribe, .sma, period: 2, on: stream) == .answered(.ok))
        _ = stream.read()
        for trade in harness.trades(6) { harness.engine.publish(trade) }
        harness.engine.emitIndicatorBatches()
        #expect(harness.engine.indicators.batchesDeferred == 1 && harness.engine.indicators.batchesSent == 0)
        _ = stream.read()
        harness.engine.emitIndicatorBatches()
        let batches = stream.read().compactMap { response -> Tickwire_V1_IndicatorBatch? in
            if case .indicators(let batch)? = response.payload { return batch }
            return nil
        }
        #expect(batches.count == 1)
        #expect(batches.first?.updates.map(\.tradeID) == [6])
        #expect(batches.first?.updates.first?.value == 104.5)
    }

    @Test func closingAStreamGivesItsIndicatorsBackToThePool() {
        let harness = EngineHarness(maxIndicators: 1)
        let first = harness.open(), second = harness.open()
        #expect(harness.request(.subscribe, .sma, period: 3, on: first) == .answered(.ok))
        guard case .answered(let refused) = harness.request(.subscribe, .ema, period: 3, on: second) else {
            Issue.record("the request was not answered"); return
        }
        #expect(refused.code == .resourceExhausted)
        harness.engine.closed(first)
        #expect(harness.request(.subscribe, .ema, period: 3, on: second) == .answered(.ok))
    }

    @Test func bytesThatAreNotARequestEndTheStreamAndNothingElse() {
        let harness = EngineHarness()
        let stream = harness.open()
        let outcome = [UInt8]([0x0b]).withUnsafeBytes { harness.engine.receive(indicatorRequest: $0, from: stream) }
        #expect(outcome == .malformed)
        #expect(stream.ending?.code == .invalidArgument && stream.read().isEmpty)
        #expect(harness.engine.registry.count == 0)
    }

    @Test func timeBoundsAskForTheEarliestTimerAndEndWithTheirStatus() {
        let harness = EngineHarness()
        let engine = harness.engine
        let long = RecordingStream(), short = RecordingStream(), timed = RecordingStream()
        #expect(engine.open(long, bound: StreamBound(durationNanos: 3_000), callTimeoutNanos: nil, nowNanos: 0)
                == .arm(atNanos: 3_000))
        #expect(engine.open(short, bound: StreamBound(durationNanos: 1_000), callTimeoutNanos: nil, nowNanos: 0)
                == .arm(atNanos: 1_000))
        #expect(engine.trackDeadline(of: timed, callTimeoutNanos: 2_000, nowNanos: 0) == nil)
        #expect(engine.deadlineTimerFired(nowNanos: 1_000) == .arm(atNanos: 2_000))
        #expect(short.ending == .ok && long.isOpen)
        #expect(engine.deadlineTimerFired(nowNanos: 2_000) == .arm(atNanos: 3_000))
        #expect(timed.ending?.code == .deadlineExceeded)
        engine.closed(long)
        #expect(engine.deadlineTimerFired(nowNanos: 3_000) == nil)
        #expect(long.isOpen, "a closed stream's deadline must be forgotten")
    }
}
