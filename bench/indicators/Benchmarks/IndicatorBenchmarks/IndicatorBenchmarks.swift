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
/// The fan case: every kind at ten periods, all on one symbol.
let fanPeriods = [2, 5, 9, 14, 20, 26, 50, 100, 200, 1000]
let fanIndicatorCount = IndicatorKind.allCases.count * fanPeriods.count

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

    init(subscriptions: [(IndicatorKind, Int)]) {
        engine = IndicatorEngine(symbolCount: 2, historyCapacity: historyCapacity,
                                 maxPeriod: maxPeriod, maxIndicators: 64)
        tape = randomWalk(count: tapeLength)
        var handles: [IndicatorHandle] = []
        for (kind, period) in subscriptions {
            switch engine.subscribe(symbol: 0, kind: kind, period: period) {
            case .success(let handle): handles.append(handle)
            case .failure(let error): preconditionFailure("subscribe \(kind)(\(period)): \(error)")
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
            ingestTrades(&engine, prices: prices, firstTrade: first, count: count)
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
@inline(never)
func ingestTrades(_ engine: inout IndicatorEngine, prices: UnsafeBufferPointer<Double>,
                  firstTrade: Int, count: Int) {
    let mask = prices.count - 1
    for trade in firstTrade..<firstTrade + count {
        let tradeId = Int64(trade)
        engine.ingest(symbol: 0, price: prices[trade & mask], tradeId: tradeId,
                      tradeTimeMs: 1_723_075_200_000 + tradeId)
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
    func ingestBenchmark(_ name: String, subscriptions: [(IndicatorKind, Int)]) {
        Benchmark(name, configuration: configuration) { benchmark, warmed in
            let trades = benchmark.scaledIterations.count
            benchmark.startMeasurement()
            warmed.ingest(count: trades)
            benchmark.stopMeasurement()
            blackHole(warmed.firstValue)
        } setup: {
            WarmedEngine(subscriptions: subscriptions)
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
    for kind in IndicatorKind.allCases {
        for period in periods {
            ingestBenchmark("ingest \(kind)(\(period))", subscriptions: [(kind, period)])
        }
    }
    let fan = IndicatorKind.allCases.flatMap { kind in fanPeriods.map { (kind, $0) } }
    precondition(fan.count == fanIndicatorCount)
    ingestBenchmark("ingest fan: \(fanIndicatorCount) indicators on one symbol", subscriptions: fan)
}
