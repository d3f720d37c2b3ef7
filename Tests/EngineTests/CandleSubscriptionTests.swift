import GRPCWire
import MarketData
import SwiftProtobuf
import Testing
import TickwireProto
@testable import Engine
import Candles

/// Candle subscriptions and indicators on candles, through the engine as the server drives it.
@Suite struct CandleSubscriptionTests {
    static let t0: Int64 = 1_678_406_400_000  // a UTC midnight
    static let minute: Int64 = 60_000

    func candleRequest(_ interval: Tickwire_V1_CandleInterval, forming: Bool = false, candles: Bool = true,
                       type: Tickwire_V1_IndicatorType = .unspecified, period: UInt32 = 0,
                       action: Tickwire_V1_IndicatorRequest.Action = .subscribe, symbol: String = "BTCUSDT",
                       engine: PriceDistributor<RecordingStream>, on stream: RecordingStream) -> IndicatorRequestOutcome {
        var request = Tickwire_V1_IndicatorRequest()
        request.action = action
        request.symbol = symbol
        request.interval = interval
        request.forming = forming
        request.candles = candles
        request.type = type
        request.period = period
        request.requestID = "c"
        let bytes = try! request.serializedBytes() as [UInt8]
        return bytes.withUnsafeBytes { engine.receive(indicatorRequest: $0, from: stream) }
    }

    func trade(_ id: Int64, minute: Int64, offsetMs: Int64 = 0, price: Double) -> Trade {
        Trade(symbolIndex: 0, tradeID: id, price: price, quantity: 1, tradeTimeMs: Self.t0 + minute * Self.minute + offsetMs,
              eventTimeMs: 0, ingestUnixNanos: 0)
    }

    func candles(_ responses: [Tickwire_V1_StreamResponse]) -> [Tickwire_V1_Candle] {
        responses.flatMap { response -> [Tickwire_V1_Candle] in
            if case .candles(let batch)? = response.payload { return batch.candles }
            return []
        }
    }

    func updates(_ responses: [Tickwire_V1_StreamResponse]) -> [Tickwire_V1_IndicatorUpdate] {
        responses.flatMap { response -> [Tickwire_V1_IndicatorUpdate] in
            if case .indicators(let batch)? = response.payload { return batch.updates }
            return []
        }
    }

    @Test func aLateJoinerGetsTheLastClosedAndTheFormingCandleAtOnce() {
        let harness = EngineHarness()
        let engine = harness.engine
        for (index, price) in [100.0, 101, 102, 103].enumerated() {
            engine.publish(trade(Int64(index + 1), minute: Int64(index), offsetMs: 10, price: price))
        }
        let late = harness.open()
        #expect(candleRequest(.candleInterval1M, forming: true, engine: engine, on: late) == .answered(.ok))
        let responses = late.read()
        guard case .status(let status)? = responses.first?.payload else { Issue.record("no status first"); return }
        #expect(status.candles && status.interval == .candleInterval1M && status.forming)
        let sent = candles(responses)
        #expect(sent.map(\.close) == [102, 103])
        #expect(sent.map(\.closed) == [true, false])
        #expect(sent[0].openTimeMs == Self.t0 + 2 * Self.minute && sent[0].symbol == "BTCUSDT")
        engine.emitIndicatorBatches()
        #expect(candles(late.read()).isEmpty, "nothing changed: nothing resent")
    }

    /// Streams with the same subscriptions get one encoded message per
    /// close, queued on each (issue 18: a close must not cost an encode per
    /// stream); a stream that subscribes to something else gets its own.
    @Test func streamsAlikeShareOneEncodedBatchPerClose() {
        let harness = EngineHarness()
        let engine = harness.engine
        // Registered alike, different, alike, alike: sharing spans the one between.
        let first = harness.open()
        let different = harness.open()
        let alike = [first, harness.open(), harness.open()]
        for stream in alike {
            _ = candleRequest(.candleInterval1M, engine: engine, on: stream)
            _ = candleRequest(.candleInterval1M, candles: false, type: .rsi, period: 2, engine: engine, on: stream)
        }
        _ = candleRequest(.candleInterval1M, forming: true, engine: engine, on: different)
        for minute in 0..<4 { engine.publish(trade(Int64(minute + 1), minute: Int64(minute), price: 100 + Double(minute))) }
        for stream in alike + [different] { _ = stream.read() }
        let encodedBefore = engine.candles.batchesEncoded
        engine.publish(trade(9, minute: 4, price: 110))  // closes minute 3
        // After the trade's own price message (shared already): the close.
        let messages = alike.map { Array($0.queued.dropFirst()) }
        #expect(messages.allSatisfy { $0.count == 2 }, "a CandleBatch and an IndicatorBatch each")
        #expect(messages.allSatisfy { $0[0] === messages[0][0] && $0[1] === messages[0][1] })
        let own = Array(different.queued.dropFirst())
        #expect(!own.isEmpty && own.allSatisfy { $0 !== messages[0][0] })
        #expect(engine.candles.batchesEncoded - encodedBefore == 2 + own.count, "two for the alike, the other's own")
        let sent = alike.map { candles($0.read()) }
        #expect(sent.allSatisfy { $0.map(\.close) == [103] })
        #expect(candles(different.read()).filter(\.closed).map(\.close) == [103])
    }

    @Test func aTradePastTheEndSendsTheClosedCandleAtOnce() {
        let harness = EngineHarness()
        let engine = harness.engine
        let stream = harness.open()
        _ = candleRequest(.candleInterval1M, engine: engine, on: stream)
        engine.publish(trade(1, minute: 0, price: 100))
        _ = stream.read()
        engine.publish(trade(2, minute: 2, price: 105))
        let sent = candles(stream.read())
        // The minute with the trade, then the empty one flat at its close.
        #expect(sent.map(\.openTimeMs) == [Self.t0, Self.t0 + Self.minute])
        #expect(sent.map(\.tradeCount) == [1, 0])
        #expect(sent[1].open == 100 && sent[1].close == 100 && sent[1].firstTradeID == -1)
    }

    @Test func theClockClosesAQuietCandle() {
        let harness = EngineHarness()
        let engine = harness.engine
        let stream = harness.open()
        _ = candleRequest(.candleInterval1M, engine: engine, on: stream)
        engine.publish(trade(1, minute: 0, price: 100))
        _ = stream.read()
        let next = engine.candleClockDue(nowUnixMs: Self.t0 + Self.minute + 299)
        #expect(candles(stream.read()).isEmpty, "within the grace")
        #expect(next == Self.t0 + Self.minute + 300)
        _ = engine.candleClockDue(nowUnixMs: Self.t0 + Self.minute + 300)
        #expect(candles(stream.read()).map(\.close) == [100])
    }

    /// Backfill fidelity: while the feed holds a symbol's trades for a
    /// backfill, the clock leaves its candles open for the fetched trades.
    @Test func aSymbolHeldForABackfillDoesNotCloseOnTheClock() {
        let harness = EngineHarness()
        let engine = harness.engine
        let stream = harness.open()
        _ = candleRequest(.candleInterval1M, engine: engine, on: stream)
        engine.publish(trade(1, minute: 0, price: 100))
        _ = stream.read()
        _ = engine.candleClockDue(nowUnixMs: Self.t0 + 5 * Self.minute, holding: { $0 == 0 })
        #expect(candles(stream.read()).isEmpty)
        engine.publish(trade(2, minute: 0, offsetMs: 59_000, price: 104))  // the backfilled trade
        _ = engine.candleClockDue(nowUnixMs: Self.t0 + 5 * Self.minute)
        let closed = candles(stream.read())
        #expect(closed.first?.close == 104 && closed.first?.tradeCount == 2)
    }

    @Test func rsiOnCandlesHasClosedAndProvisionalValues() {
        let harness = EngineHarness()
        let engine = harness.engine
        for minute in 0..<6 { engine.publish(trade(Int64(minute + 1), minute: Int64(minute), price: 100 + Double(minute % 3))) }
        let stream = harness.open()
        #expect(candleRequest(.candleInterval1M, forming: true, candles: false, type: .rsi, period: 3,
                              engine: engine, on: stream) == .answered(.ok))
        let sent = updates(stream.read())
        #expect(sent.count == 2)
        #expect(sent.map(\.forming) == [false, true])
        #expect(sent.allSatisfy { $0.interval == .candleInterval1M && $0.type == .rsi && $0.period == 3 })
        // Closes 100, 101, 102, 100, 101: RSI(3) over the last three changes (+1, -2, +1), Wilder-seeded.
        #expect(sent[0].tradeTimeMs == Self.t0 + 5 * Self.minute - 1)
        engine.publish(trade(7, minute: 5, offsetMs: 100, price: 90))
        engine.emitIndicatorBatches()
        let after = updates(stream.read())
        #expect(after.count == 1 && after[0].forming, "only the provisional value moved")
    }

    @Test func badCandleRequestsAreRefusedWithAReason() {
        let harness = EngineHarness()
        let engine = harness.engine
        let stream = harness.open()
        #expect(candleRequest(.unspecified, engine: engine, on: stream)
            == .answered(GRPCStatus(.invalidArgument, "interval must be one of CANDLE_INTERVAL_1S … CANDLE_INTERVAL_1D, not unspecified")))
        if case .answered(let status) = candleRequest(.candleInterval1M, symbol: "DOGEUSDT", engine: engine, on: stream) {
            #expect(status.code == .notFound)
        }
        if case .answered(let status) = candleRequest(.candleInterval1M, candles: false, type: .rsi, period: 1,
                                                       engine: engine, on: stream) {
            #expect(status.code == .invalidArgument)
        }
        if case .answered(let status) = candleRequest(.unspecified, forming: true, candles: false, type: .rsi,
                                                       period: 14, engine: engine, on: stream) {
            #expect(status.code == .invalidArgument)
        }
    }

    @Test func unsubscribingAndClosingReleaseTheSharedState() {
        let harness = EngineHarness()
        let engine = harness.engine
        let a = harness.open(), b = harness.open()
        _ = candleRequest(.candleInterval5M, candles: false, type: .ema, period: 5, engine: engine, on: a)
        _ = candleRequest(.candleInterval5M, candles: false, type: .ema, period: 5, engine: engine, on: b)
        #expect(engine.candles.activeIndicatorCount == 1)
        _ = candleRequest(.candleInterval5M, candles: false, type: .ema, period: 5, action: .unsubscribe,
                          engine: engine, on: a)
        #expect(engine.candles.activeIndicatorCount == 1)
        engine.end(b, .ok)
        #expect(engine.candles.activeIndicatorCount == 0)
    }
}

@Suite struct CandleSeedThroughTheEngineTests {
    static let t0: Int64 = 1_678_406_400_000

    /// The live fetch's entry point: agreeing klines join and warm the
    /// indicators on candles, a disagreeing history is refused and counted.
    @Test func joinedAndRefusedHistoriesAreCounted() {
        let harness = EngineHarness()
        let candles = harness.engine.candles
        let history: [Candle] = (0..<20).map { (minute: Int) -> Candle in
            let open: Int64 = Self.t0 + Int64(minute) * 60_000
            let high: Double = 101 + Double(minute % 3)
            let close: Double = 100 + Double(minute % 4)
            return Candle.fetched(openTimeMs: open, interval: .oneMinute, open: 100, high: high, low: 99,
                                  close: close, volume: 1, quoteVolume: 100, tradeCount: 3,
                                  takerBuyVolume: 0.5, takerBuyQuoteVolume: 50)
        }
        let now = Self.t0 + 20 * 60_000 + 10
        #expect(candles.seed(symbol: 0, interval: .oneMinute, history: history, nowMs: now) == .joined(added: 20, agreed: 0))
        var gapped = history
        gapped.remove(at: 3)
        #expect(candles.seed(symbol: 1, interval: .oneMinute, history: gapped, nowMs: now)
            == .refused(.notContiguous(openTimeMs: Self.t0 + 4 * 60_000)))
        #expect(candles.historiesJoined == 1 && candles.historiesRefused == 1)
        // A subscriber after the join gets the newest joined candle as the last closed one.
        let stream = harness.open()
        var request = Tickwire_V1_IndicatorRequest()
        request.symbol = "BTCUSDT"
        request.interval = .candleInterval1M
        request.candles = true
        let bytes = try! request.serializedBytes() as [UInt8]
        _ = bytes.withUnsafeBytes { harness.engine.receive(indicatorRequest: $0, from: stream) }
        let sent = stream.read().flatMap { response -> [Tickwire_V1_Candle] in
            if case .candles(let batch)? = response.payload { return batch.candles }
            return []
        }
        #expect(sent.map(\.openTimeMs) == [Self.t0 + 19 * 60_000])
    }
}
