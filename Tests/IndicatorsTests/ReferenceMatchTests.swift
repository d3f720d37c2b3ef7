import Indicators
import Testing

/// Every indicator, run live through the engine, against a naive recomputation
/// of TA-Lib's definition over the whole series.
@Suite("Indicators match TA-Lib's definitions")
struct ReferenceMatchTests {
    @Test("on random walks", arguments: originalKinds, [2, 3, 14, 50, 256])
    func randomWalks(kind: IndicatorKind, period: Int) throws {
        for seed: UInt64 in [1, 2, 3] {
            let prices = randomWalkPrices(count: 1500, seed: seed)
            expectSeries(try engineSeries(kind, period: period, prices: prices, historyCapacity: 256),
                         matches: TALibReference.series(kind, prices, period: period),
                         "\(kind)(\(period)), seed \(seed)")
        }
    }

    @Test("on real BTCUSDT trades", arguments: originalKinds, [2, 9, 14, 100, 500, 999])
    func realTrades(kind: IndicatorKind, period: Int) throws {
        let prices = realBTCUSDTPrices
        expectSeries(try engineSeries(kind, period: period, prices: prices, historyCapacity: 1000),
                     matches: TALibReference.series(kind, prices, period: period),
                     "\(kind)(\(period))")
    }

    /// EMA and RSI repeat TA-Lib's operations in TA-Lib's order, so they agree
    /// bit for bit, not just within the tolerance. (SMA cannot: TA-Lib keeps a
    /// plain running sum, the engine a compensated one.)
    @Test("EMA and RSI agree with TA-Lib to the last bit", arguments: [IndicatorKind.ema, .rsi], [2, 14, 100])
    func bitExact(kind: IndicatorKind, period: Int) throws {
        let prices = realBTCUSDTPrices
        let actual = try engineSeries(kind, period: period, prices: prices)
        #expect(actual == TALibReference.series(kind, prices, period: period))
    }

    /// StockCharts ChartSchool's published RSI(14) worked example, which TA-Lib
    /// reproduces: an outside check on the reference itself.
    @Test("StockCharts' published RSI(14) example")
    func stockChartsExample() throws {
        let closes = [
            44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433,
            46.0826, 45.8931, 46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116,
            46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515, 45.7835, 45.3548, 44.0288,
            44.1783, 44.2181, 44.5672, 43.4205, 42.6628, 43.1314,
        ]
        let published = [
            70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38,
            54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77,
        ]
        let series = try engineSeries(.rsi, period: 14, prices: closes, historyCapacity: 64)
        #expect(series[..<14].allSatisfy { $0 == nil })
        let rounded = series[14...].map { (($0 ?? .nan) * 100).rounded() / 100 }
        #expect(rounded == published)
    }
}
