import Testing
@testable import BinanceFeed

@Suite struct SkipReportLimiterTests {
    @Test func oneReportPerSecondPerReasonCountingTheQuietOnes() {
        var limiter = SkipReportLimiter()
        let s: Int64 = 1_000_000_000
        #expect(limiter.admit(.malformed, nowNanos: 10 * s) == 0)
        #expect(limiter.admit(.malformed, nowNanos: 10 * s + 1) == nil)
        #expect(limiter.admit(.binary, nowNanos: 10 * s + 2) == 0, "reasons are limited apart")
        #expect(limiter.admit(.malformed, nowNanos: 11 * s - 1) == nil)
        #expect(limiter.admit(.malformed, nowNanos: 11 * s) == 2)
        #expect(limiter.admit(.malformed, nowNanos: 12 * s) == 0)
    }
}
