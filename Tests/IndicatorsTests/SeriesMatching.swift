import Indicators
import Testing

/// The tests' closeness rule: 1e-9 relative, or 1e-9 absolute for values below 1.
func isClose(_ actual: Double, _ expected: Double) -> Bool {
    abs(actual - expected) <= 1e-9 * max(1, abs(expected))
}

/// Expects two aligned series to agree: nil in the same places, close elsewhere.
/// Only the first disagreement is reported, so one bug does not print a
/// thousand failures.
func expectSeries(
    _ actual: [Double?], matches expected: [Double?], _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): lengths differ", sourceLocation: sourceLocation)
    for (index, (got, want)) in zip(actual, expected).enumerated() {
        let agree = switch (got, want) {
        case (nil, nil): true
        case let (got?, want?): isClose(got, want)
        default: false
        }
        if !agree {
            Issue.record("\(what): index \(index) is \(String(describing: got)), expected \(String(describing: want))",
                         sourceLocation: sourceLocation)
            return
        }
    }
}

/// Runs `prices` through a fresh single-symbol engine with one state subscribed
/// before the first trade, and returns that state's value after each price.
func engineSeries(
    _ kind: IndicatorKind, period: Int, prices: [Double], historyCapacity: Int = 1000
) throws -> [Double?] {
    var engine = IndicatorEngine(symbolCount: 1, historyCapacity: historyCapacity,
                                 maxPeriod: historyCapacity, maxIndicators: 4)
    let handle = try engine.subscribe(symbol: 0, kind: kind, period: period).get()
    var values: [Double?] = []
    for (tradeIndex, price) in prices.enumerated() {
        engine.ingest(symbol: 0, price: price, tradeId: Int64(tradeIndex), tradeTimeMs: Int64(tradeIndex))
        values.append(engine.value(of: handle)?.value)
    }
    return values
}

/// Expects a state to have a value, close to `expected` (which must exist too).
func expectValue(
    _ actual: IndicatorValue?, closeTo expected: Double?, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let actual, let expected else {
        Issue.record("\(what): value \(String(describing: actual)), expected \(String(describing: expected))",
                     sourceLocation: sourceLocation)
        return
    }
    #expect(isClose(actual.value, expected), "\(what)", sourceLocation: sourceLocation)
}
