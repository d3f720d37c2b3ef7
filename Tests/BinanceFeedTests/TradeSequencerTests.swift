import Testing
@testable import BinanceFeed
import MarketData

/// The sequencer alone: what is new, what is a duplicate, what is a gap, and
/// what an implausible id becomes. Trade times follow the ids (FeedRig.trade)
/// unless a test says otherwise.
@Suite struct TradeSequencerTests {
    let eth = 1

    func trade(_ symbol: Int, _ id: Int64, timeMs: Int64? = nil) -> Trade {
        var trade = FeedRig.trade(symbol, id)
        if let timeMs { trade.tradeTimeMs = timeMs }
        return trade
    }

    @Test func firstNextDuplicateAndGap() {
        var sequencer = TradeSequencer(symbolCount: 2)
        #expect(sequencer.admit(trade(0, 100)) == .first)
        #expect(sequencer.admit(trade(0, 101)) == .next)
        #expect(sequencer.admit(trade(0, 101)) == .duplicate)
        #expect(sequencer.admit(trade(0, 50)) == .duplicate)
        #expect(sequencer.admit(trade(0, 105)) == .afterGap(missing: 3, lastID: 101))
        #expect(sequencer.admit(trade(1, 7)) == .first)  // symbols are independent
        #expect(sequencer.duplicatesDropped == 2)
        #expect(sequencer.missingTrades == 3)
    }

    @Test func deliveredMeansThisIDOrAnEarlierOne() {
        var sequencer = TradeSequencer(symbolCount: 1)
        #expect(!sequencer.hasDelivered(symbolIndex: 0, tradeID: 1))  // nothing delivered yet
        _ = sequencer.admit(trade(0, 10))
        #expect(sequencer.hasDelivered(symbolIndex: 0, tradeID: 9))
        #expect(sequencer.hasDelivered(symbolIndex: 0, tradeID: 10))
        #expect(!sequencer.hasDelivered(symbolIndex: 0, tradeID: 11))
    }

    /// Issue 17: one ETHUSDT trade with id + 10¹² cut ETHUSDT off for the rest of the run.
    @Test func aPoisonedIDIsDroppedWhenTheRealSequenceGoesOn() {
        var sequencer = TradeSequencer(symbolCount: 2)
        #expect(sequencer.admit(trade(eth, 1_000)) == .first)
        let poisoned: Int64 = 1_001 + 1_000_000_000_000
        #expect(sequencer.admit(trade(eth, poisoned)) == .suspect(lastID: 1_000, droppedOutlierID: nil))
        #expect(sequencer.lastID(of: eth) == 1_000, "a suspect must not move the sequence")
        #expect(sequencer.admit(trade(eth, 1_001)) == .afterOutlier(outlierID: poisoned, missing: 0, lastID: 1_000))
        for id in Int64(1_002)...1_100 {
            #expect(sequencer.admit(trade(eth, id)) == .next, "id \(id) after the outlier")
        }
        #expect(sequencer.suspect(of: eth) == nil)
        #expect(sequencer.outliersDropped == 1 && sequencer.suspects == 1 && sequencer.resets == 0)
        #expect(sequencer.duplicatesDropped == 0, "nothing real may be dropped")
        #expect(sequencer.missingTrades == 0, "the outlier must not count as a gap of 10¹²")
        #expect(sequencer.openGaps.gaps(of: eth).isEmpty)
    }

    @Test func aJumpFollowedByItsOwnSequenceIsAReset() {
        var sequencer = TradeSequencer(symbolCount: 1)
        _ = sequencer.admit(trade(0, 1_000))
        _ = sequencer.admit(trade(0, 1_001))
        let restart: Int64 = 900_000
        #expect(sequencer.admit(trade(0, restart)) == .suspect(lastID: 1_001, droppedOutlierID: nil))
        #expect(sequencer.admit(trade(0, restart + 1)) ==
                .afterReset(suspect: trade(0, restart), previousID: 1_001, missing: 0))
        #expect(sequencer.lastID(of: 0) == restart + 1)
        #expect(sequencer.admit(trade(0, restart + 2)) == .next)
        #expect(sequencer.resets == 1 && sequencer.outliersDropped == 0 && sequencer.missingTrades == 0)
    }

    /// A poisoned first trade leaves nothing to compare with; the real ids
    /// then look far in the past, and their own sequence wins.
    @Test func aPoisonedFirstTradeIsOvertakenByTheRealSequence() {
        var sequencer = TradeSequencer(symbolCount: 1)
        _ = sequencer.admit(trade(0, 1_000_000_000_000))
        #expect(sequencer.admit(trade(0, 5_000)) == .suspect(lastID: 1_000_000_000_000, droppedOutlierID: nil))
        #expect(sequencer.admit(trade(0, 5_001)) ==
                .afterReset(suspect: trade(0, 5_000), previousID: 1_000_000_000_000, missing: 0))
        #expect(sequencer.admit(trade(0, 5_002)) == .next)
    }

    @Test func idsThatRiseWhileTradeTimeGoesBackAreSuspect() {
        var sequencer = TradeSequencer(symbolCount: 1)
        _ = sequencer.admit(trade(0, 100, timeMs: 10_000))
        #expect(sequencer.admit(trade(0, 105, timeMs: 9_000)) == .suspect(lastID: 100, droppedOutlierID: nil))
        #expect(sequencer.admit(trade(0, 101, timeMs: 10_001)) == .afterOutlier(outlierID: 105, missing: 0, lastID: 100))
        // The same jump at a plausible time is an ordinary gap.
        #expect(sequencer.admit(trade(0, 106, timeMs: 10_002)) == .afterGap(missing: 4, lastID: 101))
    }

    @Test func theBoundItselfIsPlausibleOneMoreIsSuspect() {
        var sequencer = TradeSequencer(symbolCount: 1, maxPlausibleJump: 50_000)
        _ = sequencer.admit(trade(0, 1))
        #expect(sequencer.admit(trade(0, 2 + 50_000)) == .afterGap(missing: 50_000, lastID: 1))
        #expect(sequencer.admit(trade(0, 50_002 + 50_002)) == .suspect(lastID: 50_002, droppedOutlierID: nil))
    }

    @Test func aSecondOutlierReplacesTheFirst() {
        var sequencer = TradeSequencer(symbolCount: 1)
        _ = sequencer.admit(trade(0, 10))
        _ = sequencer.admit(trade(0, 10_000_000))
        #expect(sequencer.admit(trade(0, 90_000_000)) == .suspect(lastID: 10, droppedOutlierID: 10_000_000))
        #expect(sequencer.admit(trade(0, 90_000_000)) == .duplicate, "the suspect repeated is a duplicate")
        #expect(sequencer.admit(trade(0, 11)) == .afterOutlier(outlierID: 90_000_000, missing: 0, lastID: 10))
        #expect(sequencer.outliersDropped == 2)
    }

    /// Issue 17: ids 165, 165, 167, 166 — 166 was logged as missing, then dropped as a duplicate.
    @Test func aLateTradeFillsItsOpenGapOnce() {
        var sequencer = TradeSequencer(symbolCount: 1)
        #expect(sequencer.admit(trade(0, 165)) == .first)
        #expect(sequencer.admit(trade(0, 165)) == .duplicate)
        #expect(sequencer.admit(trade(0, 167)) == .afterGap(missing: 1, lastID: 165))
        #expect(Array(sequencer.openGaps.gaps(of: 0)) == [TradeIDRange(first: 166, last: 166)])
        #expect(sequencer.admit(trade(0, 166)) == .lateFill)
        #expect(sequencer.openGaps.gaps(of: 0).isEmpty)
        #expect(sequencer.admit(trade(0, 166)) == .duplicate, "delivered once")
        #expect(sequencer.admit(trade(0, 168)) == .next)
        #expect(sequencer.lateTradesDelivered == 1 && sequencer.duplicatesDropped == 2)
    }

    @Test func openGapsAreExposedPerSymbolAndSplitByLateTrades() {
        var sequencer = TradeSequencer(symbolCount: 2)
        _ = sequencer.admit(trade(0, 100))
        _ = sequencer.admit(trade(0, 110))
        _ = sequencer.admit(trade(0, 120))
        _ = sequencer.admit(trade(1, 5))
        #expect(Array(sequencer.openGaps.gaps(of: 0)) == [TradeIDRange(first: 101, last: 109),
                                                           TradeIDRange(first: 111, last: 119)])
        #expect(sequencer.admit(trade(0, 105)) == .lateFill)
        #expect(Array(sequencer.openGaps.gaps(of: 0)) == [TradeIDRange(first: 101, last: 104),
                                                           TradeIDRange(first: 106, last: 109),
                                                           TradeIDRange(first: 111, last: 119)])
        #expect(sequencer.openGaps.gaps(of: 1).isEmpty)
    }

    @Test func aResetClosesTheOldSequencesGaps() {
        var sequencer = TradeSequencer(symbolCount: 1)
        _ = sequencer.admit(trade(0, 100))
        _ = sequencer.admit(trade(0, 110))
        _ = sequencer.admit(trade(0, 9_000_000))
        _ = sequencer.admit(trade(0, 9_000_001))
        #expect(sequencer.openGaps.gaps(of: 0).isEmpty)
        #expect(sequencer.admit(trade(0, 105)) == .suspect(lastID: 9_000_001, droppedOutlierID: nil),
                "an old-sequence id is far in the past now")
    }
}

/// The bounded record of open gaps: oldest first, the oldest forgotten first.
@Suite struct OpenGapsTests {
    @Test func fullRecordForgetsTheOldestGap() {
        var gaps = OpenGaps(symbolCount: 1)
        for n in 0..<Int64(OpenGaps.perSymbol + 2) { gaps.open(TradeIDRange(first: n * 10, last: n * 10 + 5), symbol: 0) }
        #expect(gaps.gaps(of: 0).count == OpenGaps.perSymbol)
        #expect(gaps.gaps(of: 0).first == TradeIDRange(first: 20, last: 25))
        let forgotten = gaps.fill(3, symbol: 0)
        #expect(!forgotten, "the oldest gap was forgotten")
        let filled = gaps.fill(95, symbol: 0)
        let again = gaps.fill(95, symbol: 0)
        #expect(filled && !again)
        #expect(gaps.gaps(of: 0).last == TradeIDRange(first: 90, last: 94))
    }

    @Test func splittingAFullRecordKeepsTheNewerIDs() {
        var gaps = OpenGaps(symbolCount: 1)
        for n in 0..<Int64(OpenGaps.perSymbol) { gaps.open(TradeIDRange(first: n * 10, last: n * 10 + 5), symbol: 0) }
        let oldest = gaps.fill(2, symbol: 0)
        #expect(oldest)
        #expect(gaps.gaps(of: 0).first == TradeIDRange(first: 3, last: 5), "the oldest part is what goes")
        let second = gaps.fill(12, symbol: 0)
        #expect(second)
        #expect(Array(gaps.gaps(of: 0).prefix(2)) == [TradeIDRange(first: 10, last: 11), TradeIDRange(first: 13, last: 15)])
        #expect(gaps.gaps(of: 0).count == OpenGaps.perSymbol)
    }
}

/// No silent cut-off, sampled on the tick with a fake clock.
@Suite struct SymbolCutOffWatchTests {
    let s = FeedRig.s

    @Test func everyTradeDroppedForFiveSecondsIsACutOffAndADeliveryLiftsIt() {
        var sequencer = TradeSequencer(symbolCount: 2)
        var watch = SymbolCutOffWatch(symbolCount: 2, afterNanos: 5 * s)
        var now: Int64 = 1_000 * s
        _ = sequencer.admit(FeedRig.trade(1, 1_000))
        #expect(watch.check(sequencer, nowNanos: now).isEmpty)
        var changes: [SymbolCutOffWatch.Change] = []
        for _ in 0..<60 {  // 6 s of duplicates, sampled every 100 ms
            _ = sequencer.admit(FeedRig.trade(1, 999))
            now += s / 10
            changes += watch.check(sequencer, nowNanos: now)
        }
        #expect(changes.count == 1)
        guard case .cutOff(1, let dropped, let forMs)? = changes.first else {
            Issue.record("no cut-off reported: \(changes)")
            return
        }
        #expect(forMs >= 5_000 && forMs <= 5_200 && dropped >= 50, "\(changes)")
        #expect(watch.isCutOff(1) && !watch.isCutOff(0))
        _ = sequencer.admit(FeedRig.trade(1, 1_001))
        now += s / 10
        #expect(watch.check(sequencer, nowNanos: now) == [.restored(symbolIndex: 1, forMs: 6_000)])
        #expect(!watch.isCutOff(1))
    }

    @Test func dropsBetweenDeliveriesAreNoCutOff() {
        var sequencer = TradeSequencer(symbolCount: 1)
        var watch = SymbolCutOffWatch(symbolCount: 1, afterNanos: 5 * s)
        var now: Int64 = 1_000 * s
        for id in Int64(1)...100 {  // 10 s of a rotation-like overlap: each new trade also arrives twice
            _ = sequencer.admit(FeedRig.trade(0, id))
            _ = sequencer.admit(FeedRig.trade(0, id))
            now += s / 10
            #expect(watch.check(sequencer, nowNanos: now).isEmpty, "id \(id)")
        }
    }
}

/// The sequencer's outcomes as the feed machine hands them to LiveFeed.
@Suite struct FeedMachineSequencingTests {
    @Test func aPoisonedIDOnTheStreamingConnectionIsHeldThenDropped() throws {
        var rig = try FeedRig()
        rig.streamingOnFirst()
        #expect(rig.trade(1, 1_000, on: 1) == .publish)
        let poisoned: Int64 = 1_001 + 1_000_000_000_000
        #expect(rig.trade(1, poisoned, on: 1) == .suspect(lastID: 1_000, droppedOutlierID: nil))
        #expect(rig.trade(1, 1_001, on: 1) == .publishAfterOutlier(outlierID: poisoned, missing: 0, lastID: 1_000))
        #expect(rig.trade(1, 1_002, on: 1) == .publish)
        #expect(rig.machine.watchSymbols(nowNanos: rig.now).isEmpty)
    }

    @Test func aResetHandsOverTheSuspectToPublishFirst() throws {
        var rig = try FeedRig()
        rig.streamingOnFirst()
        _ = rig.trade(0, 1_000, on: 1)
        _ = rig.trade(0, 900_000, on: 1)
        #expect(rig.trade(0, 900_001, on: 1) ==
                .publishAfterReset(suspect: FeedRig.trade(0, 900_000), previousID: 1_000, missing: 0))
    }

    @Test func aSymbolDroppingEverythingIsReportedByTheMachinesWatch() throws {
        var rig = try FeedRig()
        rig.streamingOnFirst()
        _ = rig.trade(0, 1_000, on: 1)
        var changes: [SymbolCutOffWatch.Change] = []
        for _ in 0..<70 {  // 7 s of replayed old trades, one tick per 100 ms
            _ = rig.trade(0, 999, on: 1)
            rig.advance(100 * FeedRig.ms)
            changes += rig.machine.watchSymbols(nowNanos: rig.now)
        }
        #expect(changes.count == 1)
        #expect(rig.machine.cutOffWatch.isCutOff(0) && !rig.machine.cutOffWatch.isCutOff(1))
    }
}
