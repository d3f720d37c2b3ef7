// Nanoseconds and mallocs per trade for IndicatorEngine.ingest, the per-trade path.
//
// Every benchmark ingests trades of one symbol into an engine that was built and
// warmed in setup, so the measured region holds nothing but `ingest` calls. The
// engine is sized like the server's defaults (history 1000, max period 1000).
// One outer iteration ingests `scalingFactor` (1000) trades, so the scaled figures
// the tool prints (marked `*`) are per trade. Targets: 0 mallocs, and under 20 ns
// per (indicator, trade); for the fan benchmark divide its per-trade time by
// `fanIndicatorCount`.

import Benchmark
import Indicators

/// Prices in the replayed tape: a power of two, so the index wraps with a mask.
let tapeLength = 4096
/// Trades ingested before measuring. Speed needs no converged values, only that
/// every state has one and the history ring is full, so that SMA reads its
/// leaving price as it does in the server: the tape once covers the longest period.
let warmUpTradeCount = tapeLength
let historyCapacity = 1000
let maxPeriod = 1000
let periods = [2, 14, 200, 1000]
/// The fan case: SMA, EMA and RSI at ten periods, all on one symbol (as
/// before issue 19, so the figures stay comparable).
let fanPeriods = [2, 5, 9, 14, 20, 26, 50, 100, 200, 1000]
let fanKinds: [IndicatorKind] = [.sma, .ema, .rsi]
let fanIndicatorCount = fanKinds.count * fanPeriods.count

/// One subscription: a kind, its period and its other parameters (issue 19).
typealias Subscription = (kind: IndicatorKind, period: Int, parameters: IndicatorParameters)

/// What one benchmark feeds: single trades, or candle-like bars (ATR and the
/// Stochastic read high and low, which a trade does not have).
enum Feed {
    /// Each tape price as a trade (high = low = close), with a quantity.
    case trades
    /// Each tape price as a candle's close, with a high and low around it.
    case bars
}

/// A warmed engine and the price tape it replays, shared by one benchmark's iterations.
///
/// A class because the benchmark framework hands setup state around as `Any`,
/// which a non-copyable engine cannot be. `@unchecked Sendable` because the
/// framework runs setup and the iterations on one thread at a time; nothing
/// here is touched concurrently.
final class WarmedEngine: @unchecked Sendable {
    var engine: IndicatorEngine
    let tape: [Double]
    /// Tape position and trade id of the next trade.
    var nextTrade = 0
    let handles: [IndicatorHandle]

    let feed: Feed

    init(subscriptions: [Subscription], feed: Feed = .trades) {
        engine = IndicatorEngine(symbolCount: 2, historyCapacity: historyCapacity,
                                 maxPeriod: maxPeriod, maxIndicators: 64)
        tape = randomWalk(count: tapeLength)
        self.feed = feed
        var handles: [IndicatorHandle] = []
        for (kind, period, parameters) in subscriptions {
            switch engine.subscribe(symbol: 0, kind: kind, period: period, parameters: parameters) {
            case .success(let handle): handles.append(handle)
            case .failure(let error): preconditionFailure("subscribe \(kind)(\(period), \(parameters)): \(error)")
            }
        }
        self.handles = handles
        ingest(count: warmUpTradeCount)
        for handle in handles {
            precondition(engine.value(of: handle) != nil, "every state has a value after warm-up")
        }
    }

    /// Ingests the next `count` trades of symbol 0.
    func ingest(count: Int) {
        let first = nextTrade
        tape.withUnsafeBufferPointer { prices in
            ingestTrades(&engine, prices: prices, firstTrade: first, count: count, feed: feed)
        }
        nextTrade = first + count
    }

    /// The first state's latest value, to keep the work observable.
    var firstValue: Double? {
        handles.first.flatMap { engine.value(of: $0)?.value }
    }
}

/// The measured loop. The engine comes in `inout`, so the class property is
/// accessed (and its exclusivity checked) once per call rather than per trade.
/// Trades go in as the server's IndicatorService sends them (a `Bar.trade`
/// with its quantity), bars as the CandleBook does.
@inline(never)
func ingestTrades(_ engine: inout IndicatorEngine, prices: UnsafeBufferPointer<Double>,
                  firstTrade: Int, count: Int, feed: Feed) {
    let mask = prices.count - 1
    for trade in firstTrade..<firstTrade + count {
        let tradeId = Int64(trade)
        let price = prices[trade & mask]
        let timeMs = 1_723_075_200_000 + tradeId
        let bar: Bar
        switch feed {
        case .trades:
            bar = .trade(price: price, quantity: 0.001 * Double(1 + trade & 7), timeMs: timeMs)
        case .bars:
            let spread = 0.5 * Double(1 + trade & 3)
            bar = Bar(high: price + spread, low: price - spread, close: price, volume: 1.5,
                      quoteVolume: 1.5 * price, timeMs: timeMs)
        }
        engine.ingest(symbol: 0, bar: bar, tradeId: tradeId, tradeTimeMs: timeMs)
    }
}

/// What the control benchmark allocates.
final class Box {
    let value: Int
    init(_ value: Int) { self.value = value }
}

/// A deterministic random walk around 60 000 with steps of up to ±5, like BTCUSDT trades.
func randomWalk(count: Int) -> [Double] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var price = 60_000.0
    var prices: [Double] = []
    prices.reserveCapacity(count)
    for _ in 0..<count {
        // xorshift64*: cheap and the same on every machine.
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let unit = Double((state &* 0x2545_F491_4F6C_DD1D) >> 11) / Double(1 << 53)
        price += (unit - 0.5) * 10
        prices.append((price * 100).rounded() / 100)
    }
    return prices
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        // No `.instructions`: this VM has no hardware counters (perf: not supported).
        metrics: [.wallClock, .throughput, .mallocCountTotal, .retainCount, .releaseCount],
        timeUnits: .nanoseconds,
        warmupIterations: 100,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        // The bar is no allocation at all on the per-trade path, so a
        // baseline comparison tolerates no change in the malloc count.
        thresholds: [.mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p100: 0])])

    /// Registers one benchmark that ingests 1000 trades per iteration.
    func ingestBenchmark(_ name: String, subscriptions: [Subscription], feed: Feed = .trades) {
        Benchmark(name, configuration: configuration) { benchmark, warmed in
            let trades = benchmark.scaledIterations.count
            benchmark.startMeasurement()
            warmed.ingest(count: trades)
            benchmark.stopMeasurement()
            blackHole(warmed.firstValue)
        } setup: {
            WarmedEngine(subscriptions: subscriptions, feed: feed)
        }
    }

    // Control: proves the malloc and ARC counters are live, so the zeros below mean something.
    Benchmark("control: one class instance per trade", configuration: configuration) { benchmark in
        benchmark.startMeasurement()
        for trade in benchmark.scaledIterations {
            blackHole(Box(trade))
        }
        benchmark.stopMeasurement()
    }

    ingestBenchmark("ingest, no indicators (history only)", subscriptions: [])
    for kind in fanKinds {
        for period in periods {
            ingestBenchmark("ingest \(kind)(\(period))", subscriptions: [(kind, period, .none)])
        }
    }
    // Issue 19's kinds, at their defaults and at long periods (O(1): the period must not matter).
    ingestBenchmark("ingest macd(12,26,9)", subscriptions: [(.macd, 0, .macdDefault)])
    ingestBenchmark("ingest macd(200,1000,100)", subscriptions: [(.macd, 0, .macd(fast: 200, slow: 1000, signal: 100))])
    ingestBenchmark("ingest bbands(20)", subscriptions: [(.bollinger, 20, .bollingerDefault)])
    ingestBenchmark("ingest bbands(1000)", subscriptions: [(.bollinger, 1000, .bollingerDefault)])
    ingestBenchmark("ingest vwap(utc day)", subscriptions: [(.vwap, 0, .vwap(.utcDay))])
    ingestBenchmark("bars: no indicators (history only)", subscriptions: [], feed: .bars)
    ingestBenchmark("bars: atr(14)", subscriptions: [(.atr, 14, .none)], feed: .bars)
    ingestBenchmark("bars: atr(1000)", subscriptions: [(.atr, 1000, .none)], feed: .bars)
    ingestBenchmark("bars: stoch(5,3,3)", subscriptions: [(.stochastic, 0, .stochasticDefault)], feed: .bars)
    ingestBenchmark("bars: stoch(1000,3,3)", subscriptions: [(.stochastic, 0, .stochastic(fastK: 1000, slowK: 3, slowD: 3))],
                    feed: .bars)
    ingestBenchmark("bars: vwap(candle)", subscriptions: [(.vwap, 0, .vwap(.candle))], feed: .bars)
    let fan = fanKinds.flatMap { kind in fanPeriods.map { (kind, $0, IndicatorParameters.none) } }
    precondition(fan.count == fanIndicatorCount)
    ingestBenchmark("ingest fan: \(fanIndicatorCount) indicators on one symbol", subscriptions: fan)
}
