import Testing
@testable import Candles

@Suite struct CandleIntervalTests {
    @Test func thirteenBinanceIntervalsWithTheirNames() {
        #expect(CandleInterval.allCases.map(\.binanceName)
            == ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"])
        for interval in CandleInterval.allCases {
            #expect(CandleInterval(binanceName: interval.binanceName) == interval)
            #expect(86_400_000 % interval.durationMs == 0, "every span divides a UTC day")
        }
        #expect(CandleInterval(binanceName: "1w") == nil)
    }

    @Test func openTimesAreUTCAligned() {
        // 2024-08-08 23:54:15.343 UTC
        let t: Int64 = 1_723_161_255_343
        #expect(CandleInterval.oneSecond.openTime(containing: t) == 1_723_161_255_000)
        #expect(CandleInterval.oneMinute.openTime(containing: t) == 1_723_161_240_000)
        #expect(CandleInterval.oneHour.openTime(containing: t) == 1_723_158_000_000)   // 23:00
        #expect(CandleInterval.fourHours.openTime(containing: t) == 1_723_147_200_000) // 20:00
        #expect(CandleInterval.oneDay.openTime(containing: t) == 1_723_075_200_000)    // 2024-08-08 00:00
        #expect(CandleInterval.oneMinute.openTime(containing: 60_000) == 60_000)
        #expect(CandleInterval.oneMinute.openTime(containing: -1) == -60_000)
    }
}
