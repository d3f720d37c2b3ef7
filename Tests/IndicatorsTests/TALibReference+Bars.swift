import Indicators
import Testing

/// Naive whole-series recomputations of TA-Lib's MACD, BBANDS, ATR and STOCH,
/// and of VWAP as docs/wire-api.md defines it, written from the definitions
/// and independent of the streaming machinery (no rings, deques or running
/// sums: every window is re-scanned). One entry per input, nil where TA-Lib
/// has no output yet. The integration tests check the same outputs against
/// TA-Lib itself.
extension TALibReference {
    /// TA-Lib's MACD: the slow EMA seeded on prices 0..<slow, the fast EMA on the
    /// `fast` prices ending at slow − 1 (the same bar), the signal EMA on the
    /// MACD line from there; all three output from slow + signal − 2 on.
    static func macd(_ prices: [Double], fast: Int, slow: Int, signal: Int) -> [IndicatorOutputs?] {
        var output = [IndicatorOutputs?](repeating: nil, count: prices.count)
        guard prices.count >= slow else { return output }
        let slowLine = fusedEMA(prices, period: slow)
        let fastLine = fusedEMA(Array(prices[(slow - fast)...]), period: fast)
        var line: [Double] = []
        for index in (slow - 1)..<prices.count {
            line.append(fastLine[index - (slow - fast)]! - slowLine[index]!)
        }
        let signalLine = fusedEMA(line, period: signal)
        for (offset, signalValue) in signalLine.enumerated() {
            guard let signalValue else { continue }
            output[slow - 1 + offset] = IndicatorOutputs(line[offset], signalValue, line[offset] - signalValue)
        }
        return output
    }

    /// TA-Lib 0.8.1's EMA as its build computes it: each step one fused multiply-add.
    static func fusedEMA(_ values: [Double], period: Int) -> [Double?] {
        var output = [Double?](repeating: nil, count: values.count)
        guard values.count >= period else { return output }
        let k = 2.0 / Double(period + 1)
        var ema = values[0..<period].reduce(0, +) / Double(period)
        output[period - 1] = ema
        for position in period..<values.count {
            ema = ema.addingProduct(values[position] - ema, k)
            output[position] = ema
        }
        return output
    }

    /// Bollinger Bands with a two-pass population standard deviation per window.
    static func bollinger(_ prices: [Double], period: Int, up: Double, down: Double) -> [IndicatorOutputs?] {
        prices.indices.map { end in
            guard end + 1 >= period else { return nil }
            let window = prices[(end + 1 - period)...end]
            let mean = window.reduce(0, +) / Double(period)
            let variance = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(period)
            let deviation = variance.squareRoot()
            return IndicatorOutputs(mean + up * deviation, mean, mean - down * deviation)
        }
    }

    /// TA-Lib's ATR: true ranges from the second bar, their plain mean over the
    /// first `period`, then Wilder's smoothing.
    static func atr(_ bars: [Bar], period: Int) -> [Double?] {
        var output = [Double?](repeating: nil, count: bars.count)
        guard bars.count > period else { return output }
        func range(_ index: Int) -> Double {
            let previous = bars[index - 1].close
            return max(bars[index].high - bars[index].low, abs(bars[index].high - previous), abs(bars[index].low - previous))
        }
        var average = (1...period).reduce(0) { $0 + range($1) } / Double(period)
        output[period] = average
        for index in (period + 1)..<bars.count {
            average = (average * Double(period - 1) + range(index)) / Double(period)
            output[index] = average
        }
        return output
    }

    /// TA-Lib's STOCH with SMA smoothing, every window re-scanned and re-summed.
    static func stochastic(_ bars: [Bar], fastK: Int, slowK: Int, slowD: Int) -> [IndicatorOutputs?] {
        let fast: [Double?] = bars.indices.map { end in
            guard end + 1 >= fastK else { return nil }
            let window = bars[(end + 1 - fastK)...end]
            let highest = window.map(\.high).max()!
            let lowest = window.map(\.low).min()!
            return highest == lowest ? 0 : (bars[end].close - lowest) / (highest - lowest) * 100
        }
        let slowKLine = trailingMeans(fast, period: slowK)
        let slowDLine = trailingMeans(slowKLine, period: slowD)
        return bars.indices.map { index in
            guard let k = slowKLine[index], let d = slowDLine[index] else { return nil }
            return IndicatorOutputs(k, d)
        }
    }

    /// Σ quote / Σ volume since 00:00 UTC of each bar (nil before any volume).
    static func dayVWAP(_ bars: [Bar]) -> [Double?] {
        var day: Int64 = .min
        var quote = 0.0
        var volume = 0.0
        return bars.map { bar in
            let barDay = bar.timeMs / 86_400_000
            if barDay != day { (day, quote, volume) = (barDay, 0, 0) }
            quote += bar.quoteVolume
            volume += bar.volume
            return volume > 0 ? quote / volume : nil
        }
    }

    /// The mean of each `period` consecutive non-nil values, nil until there are that many.
    private static func trailingMeans(_ values: [Double?], period: Int) -> [Double?] {
        values.indices.map { end in
            guard end + 1 >= period, values[end + 1 - period] != nil else { return nil }
            return values[(end + 1 - period)...end].reduce(0) { $0 + $1! } / Double(period)
        }
    }
}

/// Candle-like bars: each the high, low and close of four steps of a trade-like
/// random walk, with random volumes, one a minute from 2024-08-08 23:00 UTC (so
/// a UTC day boundary falls inside a few hundred bars). Some bars are flat.
func randomBars(count: Int, seed: UInt64) -> [Bar] {
    let prices = randomWalkPrices(count: count * 4, seed: seed)
    var generator = SplitMix64(seed: seed &+ 1)
    return (0..<count).map { index in
        let steps = prices[(index * 4)..<(index * 4 + 4)]
        let volume = Double(Int.random(in: 0...300, using: &generator)) / 100
        return Bar(high: steps.max()!, low: steps.min()!, close: steps.last!, volume: volume,
                   quoteVolume: volume * steps.last!, timeMs: 1_723_158_000_000 + Int64(index) * 60_000)
    }
}

/// Expects two aligned multi-output series to agree, output by output.
func expectOutputs(_ actual: [IndicatorOutputs?], match expected: [IndicatorOutputs?], _ what: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): lengths differ", sourceLocation: sourceLocation)
    for (index, (got, want)) in zip(actual, expected).enumerated() {
        let agree = switch (got, want) {
        case (nil, nil): true
        case let (got?, want?): got.count == want.count && (0..<got.count).allSatisfy { isClose(got[$0], want[$0]) }
        default: false
        }
        if !agree {
            Issue.record("\(what): index \(index) is \(String(describing: got)), expected \(String(describing: want))",
                         sourceLocation: sourceLocation)
            return
        }
    }
}

/// Runs `bars` through a fresh single-symbol engine with one state of `kind`
/// subscribed before the first bar; the state's outputs after each bar.
func engineOutputs(_ kind: IndicatorKind, period: Int = 0, parameters: IndicatorParameters = .none,
                   bars: [Bar], historyCapacity: Int = 1000) throws -> [IndicatorOutputs?] {
    var engine = IndicatorEngine(symbolCount: 1, historyCapacity: historyCapacity,
                                 maxPeriod: historyCapacity, maxIndicators: 4)
    let handle = try engine.subscribe(symbol: 0, kind: kind, period: period, parameters: parameters).get()
    return bars.enumerated().map { index, bar in
        engine.ingest(symbol: 0, bar: bar, tradeId: Int64(index), tradeTimeMs: bar.timeMs)
        return engine.value(of: handle)?.outputs
    }
}

func tradeBars(_ prices: [Double]) -> [Bar] {
    prices.enumerated().map { index, price in
        .trade(price: price, quantity: Double(index % 7 + 1) / 1000, timeMs: 1_723_158_000_000 + Int64(index) * 1_000)
    }
}
