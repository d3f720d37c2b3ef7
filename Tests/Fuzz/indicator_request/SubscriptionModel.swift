// The harness's reference for what the server should answer: which keys each
// stream holds, how many streams share each engine state, how many prices each
// state has seen, and which values each stream has been sent. Validation of a
// single request (SubscriptionRequest) is the server's own; what is modelled is
// the bookkeeping across requests, streams and trades, where the bugs that
// unit tests miss live: reference counts, pool limits, warm-up, batching.

@testable import Engine
import GRPCWire
import Indicators

struct SubscriptionModel {
    /// One shared engine state, as the model expects it to exist.
    struct State {
        var subscribers = 0
        /// Prices the state has taken in: the history it warmed from, then each trade.
        var pricesSeen = 0
    }

    let settings: IndicatorSettings
    /// Per stream slot: its subscriptions, and those it has been sent a value for.
    private(set) var held: [Set<IndicatorKey>]
    private var delivered: [Set<IndicatorKey>]
    private var states: [IndicatorKey: State] = [:]
    private var historyCount: [Int]
    private(set) var lastTradeID: [Int64]

    init(slots: Int, symbols: Int, settings: IndicatorSettings) {
        self.settings = settings
        held = Array(repeating: [], count: slots)
        delivered = Array(repeating: [], count: slots)
        historyCount = Array(repeating: 0, count: symbols)
        lastTradeID = Array(repeating: 0, count: symbols)
        tradesSinceHugePrice = Array(repeating: .max, count: symbols)
    }

    var activeStates: Int { states.count }

    /// The status code the server must answer `request` with on `slot`, and
    /// the bookkeeping that follows from it.
    mutating func apply(_ request: SubscriptionRequest, slot: Int) -> GRPCStatusCode {
        switch request {
        case .rejected(let code, _):
            return code
        case .unsubscribe(let key):
            if held[slot].remove(key) != nil { leave(key, slot: slot) }
            return .ok
        case .subscribe(let key):
            if held[slot].contains(key) { return .ok }
            if held[slot].count >= settings.maxSubscriptionsPerStream { return .resourceExhausted }
            if states[key] == nil {
                if states.count >= settings.maxIndicators { return .resourceExhausted }
                states[key] = State(pricesSeen: historyCount[key.symbol])
            }
            states[key]!.subscribers += 1
            held[slot].insert(key)
            return .ok
        }
    }

    /// The stream in `slot` is gone: its subscriptions are released.
    mutating func closeSlot(_ slot: Int) {
        for key in held[slot] { leave(key, slot: slot) }
        held[slot] = []
    }

    /// Trades of each symbol since its last price of 10,000,000 or more, which
    /// Bollinger Bands' exact sums leave out (no value while it is in the window).
    var tradesSinceHugePrice: [Int] = []

    mutating func trade(symbol: Int, id: Int64, price: Double) {
        tradesSinceHugePrice[symbol] = price >= 10_000_000 ? 0 : tradesSinceHugePrice[symbol] &+ 1
        for key in states.keys where key.symbol == symbol { states[key]!.pricesSeen += 1 }
        historyCount[symbol] = min(historyCount[symbol] + 1, settings.historyCapacity)
        lastTradeID[symbol] = id
    }

    func isWarm(_ key: IndicatorKey) -> Bool {
        guard let state = states[key] else { return false }
        return state.pricesSeen >= key.kind.warmUpCount(period: key.period, parameters: key.parameters)
    }

    /// Warm, and sure to have a value: Bollinger Bands have none while a
    /// price of 10,000,000 or more is in their window.
    func mustHaveValue(_ key: IndicatorKey) -> Bool {
        if key.kind == .bollinger && tradesSinceHugePrice[key.symbol] < key.period { return false }
        return isWarm(key)
    }

    mutating func recordDelivery(_ key: IndicatorKey, slot: Int) {
        delivered[slot].insert(key)
    }

    /// Warm subscriptions of `slot` that were never sent a value.
    func undelivered(slot: Int) -> [IndicatorKey] {
        held[slot].filter { mustHaveValue($0) && !delivered[slot].contains($0) }
    }

    private mutating func leave(_ key: IndicatorKey, slot: Int) {
        delivered[slot].remove(key)
        states[key]!.subscribers -= 1
        if states[key]!.subscribers == 0 { states[key] = nil }
    }
}
