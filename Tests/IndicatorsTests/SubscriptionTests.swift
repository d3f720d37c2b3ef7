import Indicators
import Testing

/// Sharing, reference counting and the preallocated pool.
///
/// The engine is non-copyable, which Swift Testing's macros cannot capture, so
/// results are read into locals before they are checked.
@Suite("Subscriptions and the state pool")
struct SubscriptionTests {
    static func engine(maxIndicators: Int = 8) -> IndicatorEngine {
        IndicatorEngine(symbolCount: 2, historyCapacity: 64, maxPeriod: 64, maxIndicators: maxIndicators)
    }

    @Test("subscribers to the same key share one state")
    func sharing() throws {
        var engine = Self.engine()
        let first = try engine.subscribe(symbol: 0, kind: .rsi, period: 14).get()
        let second = try engine.subscribe(symbol: 0, kind: .rsi, period: 14).get()
        let (subscribers, active, key) = (engine.subscriberCount(of: first), engine.activeIndicatorCount,
                                          engine.key(of: first))
        #expect(first == second)
        #expect(subscribers == 2)
        #expect(active == 1)
        #expect(key == IndicatorKey(symbol: 0, kind: .rsi, period: 14))
    }

    @Test("symbol, kind and period each make a distinct state")
    func distinctKeys() throws {
        var engine = Self.engine()
        let handles = [
            try engine.subscribe(symbol: 0, kind: .sma, period: 14).get(),
            try engine.subscribe(symbol: 1, kind: .sma, period: 14).get(),
            try engine.subscribe(symbol: 0, kind: .ema, period: 14).get(),
            try engine.subscribe(symbol: 0, kind: .sma, period: 15).get(),
        ]
        let active = engine.activeIndicatorCount
        #expect(Set(handles).count == 4)
        #expect(active == 4)
    }

    @Test("the last unsubscribe returns the state to the pool and retires its handle")
    func lastUnsubscribeFreesTheState() throws {
        var engine = Self.engine()
        let handle = try engine.subscribe(symbol: 0, kind: .ema, period: 5).get()
        _ = try engine.subscribe(symbol: 0, kind: .ema, period: 5).get()

        engine.unsubscribe(handle)
        let (sharedBy, activeWhileShared) = (engine.subscriberCount(of: handle), engine.activeIndicatorCount)
        #expect(sharedBy == 1)
        #expect(activeWhileShared == 1)

        engine.unsubscribe(handle)
        let (staleCount, activeAfter) = (engine.subscriberCount(of: handle), engine.activeIndicatorCount)
        #expect(staleCount == 0, "the handle is stale now")
        #expect(activeAfter == 0)

        let again = try engine.subscribe(symbol: 0, kind: .ema, period: 5).get()
        let subscribers = engine.subscriberCount(of: again)
        #expect(again != handle, "a reused slot gets a new generation")
        #expect(subscribers == 1)
    }

    @Test("the pool refuses new keys when full, but still lets clients join existing ones")
    func poolExhaustion() throws {
        var engine = Self.engine(maxIndicators: 3)
        let first = try engine.subscribe(symbol: 0, kind: .sma, period: 2).get()
        _ = try engine.subscribe(symbol: 0, kind: .sma, period: 3).get()
        _ = try engine.subscribe(symbol: 1, kind: .rsi, period: 14).get()

        let newKey = engine.subscribe(symbol: 0, kind: .ema, period: 9)
        let existingKey = engine.subscribe(symbol: 0, kind: .sma, period: 2)
        #expect(newKey == .failure(.poolExhausted))
        #expect(existingKey == .success(first))

        engine.unsubscribe(first)
        engine.unsubscribe(first)
        let afterRelease = engine.subscribe(symbol: 0, kind: .ema, period: 9)
        #expect(throws: Never.self) { try afterRelease.get() }
    }

    @Test("periods outside 2...maxPeriod are refused", arguments: [Int.min, -1, 0, 1, 65, Int.max])
    func invalidPeriods(period: Int) {
        var engine = Self.engine()
        for kind in originalKinds {
            let result = engine.subscribe(symbol: 0, kind: kind, period: period)
            #expect(result == .failure(.invalidPeriod), "\(kind)")
        }
        let active = engine.activeIndicatorCount
        #expect(active == 0)
    }

    @Test("periods 2 and maxPeriod are accepted", arguments: originalKinds)
    func periodBounds(kind: IndicatorKind) {
        var engine = Self.engine()
        let shortest = engine.subscribe(symbol: 0, kind: kind, period: 2)
        let longest = engine.subscribe(symbol: 0, kind: kind, period: 64)
        #expect(throws: Never.self) { try shortest.get() }
        #expect(throws: Never.self) { try longest.get() }
    }

    @Test("an invalid period is reported as such even when the pool is full")
    func invalidBeforeExhausted() throws {
        var engine = Self.engine(maxIndicators: 1)
        _ = try engine.subscribe(symbol: 0, kind: .sma, period: 2).get()
        let result = engine.subscribe(symbol: 0, kind: .sma, period: 1)
        #expect(result == .failure(.invalidPeriod))
    }

    @Test("many subscribe/unsubscribe cycles, with trades in between, leak no slot")
    func churn() throws {
        var engine = Self.engine(maxIndicators: 16)
        var generator = SplitMix64(seed: 31)
        var held: [IndicatorHandle] = []
        for _ in 0..<10_000 {
            if held.count < 16 && Bool.random(using: &generator) {
                let result = engine.subscribe(symbol: Int.random(in: 0...1, using: &generator),
                                              kind: originalKinds.randomElement(using: &generator)!,
                                              period: Int.random(in: 2...64, using: &generator))
                if case .success(let handle) = result { held.append(handle) }
            } else if !held.isEmpty {
                engine.unsubscribe(held.remove(at: Int.random(in: 0..<held.count, using: &generator)))
            }
            engine.ingest(symbol: Int.random(in: 0...1, using: &generator),
                          price: Double.random(in: 100...101, using: &generator), tradeId: 0, tradeTimeMs: 0)
        }
        for handle in held { engine.unsubscribe(handle) }
        let drained = engine.activeIndicatorCount
        #expect(drained == 0)

        for period in 2..<18 {
            let result = engine.subscribe(symbol: 0, kind: .sma, period: period)
            #expect(throws: Never.self) { try result.get() }
        }
        let refilled = engine.activeIndicatorCount
        #expect(refilled == 16)
    }

    /// A symbol's states form a linked list; removing one from the middle must
    /// leave both neighbours updating.
    @Test("removing a state from the middle of its symbol's list keeps the others live")
    func unlinkMiddle() throws {
        var engine = Self.engine()
        let first = try engine.subscribe(symbol: 0, kind: .sma, period: 2).get()
        let middle = try engine.subscribe(symbol: 0, kind: .sma, period: 3).get()
        let last = try engine.subscribe(symbol: 0, kind: .sma, period: 4).get()
        engine.unsubscribe(middle)
        for (index, price) in [1.0, 2, 3, 4, 5].enumerated() {
            engine.ingest(symbol: 0, price: price, tradeId: Int64(index), tradeTimeMs: 0)
        }
        let (firstValue, lastValue) = (engine.value(of: first), engine.value(of: last))
        #expect(firstValue?.value == 4.5)
        #expect(lastValue?.value == 3.5)
        #expect(firstValue?.tradeId == 4)
        #expect(lastValue?.tradeId == 4)
    }
}
