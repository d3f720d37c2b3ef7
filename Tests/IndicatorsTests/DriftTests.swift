import Foundation
import Indicators
import Testing

/// The SMA keeps a running window sum instead of re-adding its window on every
/// trade. This measures how far that sum wanders from an accurate recomputation
/// over millions of trades, for a short and the longest window.
///
/// The default trade count keeps a debug test run quick. For the full figure run
/// `INDICATORS_DRIFT_TRADES=20000000 swift test -c release --filter DriftTests`.
/// A compensated sum's error does not grow with the number of trades (each
/// update's rounding is carried, not accumulated), so the short run's figure
/// already bounds the long one; the long run confirms it.
@Suite("Numerical drift")
struct DriftTests {
    static let defaultTrades = 2_000_000
    static let checkpointEvery = 100_000

    static var trades: Int {
        ProcessInfo.processInfo.environment["INDICATORS_DRIFT_TRADES"].flatMap { Int($0) } ?? defaultTrades
    }

    @Test("the SMA's running sum stays within 1e-9 of the exact window mean")
    func smaDrift() throws {
        let periods = [50, 1000]
        let capacity = 1000
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: capacity, maxPeriod: capacity,
                                     maxIndicators: periods.count)
        var handles: [IndicatorHandle] = []
        for period in periods {
            handles.append(try engine.subscribe(symbol: 0, kind: .sma, period: period).get())
        }

        // The test's own copy of the recent prices, and what an uncompensated
        // running sum would hold, for comparison.
        var recent = [Double](repeating: 0, count: capacity)
        var plainSums = [Double](repeating: 0, count: periods.count)
        var worstDrift = [Double](repeating: 0, count: periods.count)
        var worstPlainDrift = [Double](repeating: 0, count: periods.count)

        var generator = SplitMix64(seed: 51)
        var cents = 6_100_000
        let trades = Self.trades
        for trade in 0..<trades {
            cents = max(100_000, cents + Int.random(in: -500...500, using: &generator))
            let price = Double(cents) / 100
            for (index, period) in periods.enumerated() {
                plainSums[index] += price
                if trade >= period { plainSums[index] -= recent[(trade - period) % capacity] }
            }
            recent[trade % capacity] = price
            engine.ingest(symbol: 0, price: price, tradeId: Int64(trade), tradeTimeMs: 0)

            guard (trade + 1) % Self.checkpointEvery == 0 || trade == trades - 1 else { continue }
            for (index, period) in periods.enumerated() where trade + 1 >= period {
                let window = (trade + 1 - period...trade).map { recent[$0 % capacity] }
                let exact = accurateSum(window) / Double(period)
                let latest = engine.value(of: handles[index])
                let running = try #require(latest).value
                worstDrift[index] = max(worstDrift[index], abs(running - exact) / exact)
                let plain = plainSums[index] / Double(period)
                worstPlainDrift[index] = max(worstPlainDrift[index], abs(plain - exact) / exact)
            }
        }

        for (index, period) in periods.enumerated() {
            print("SMA(\(period)) after \(trades) trades: worst relative drift \(worstDrift[index])"
                + " (an uncompensated running sum: \(worstPlainDrift[index]))")
            #expect(worstDrift[index] <= 1e-9)
        }
    }

    /// A sum as accurate as if computed in twice the precision and then rounded
    /// (Ogita, Rump & Oishi's Sum2: TwoSum on every addition, errors added up
    /// separately). It re-sums the window from scratch, so it is the ruler the
    /// running sum is measured against.
    private func accurateSum(_ terms: [Double]) -> Double {
        var sum = 0.0
        var error = 0.0
        for term in terms {
            let next = sum + term
            let termPart = next - sum
            error += (sum - (next - termPart)) + (term - termPart)
            sum = next
        }
        return sum + error
    }
}
