import Testing
@testable import Reactor

/// /proc parsing for the process_* metrics, on sample text and on this process.
@Suite struct ProcessStatisticsTests {
    @Test func statFieldsAreCountedFromTheLastParenthesis() {
        // A command name with spaces and a ')' of its own (proc(5)).
        let stat = "4242 (tw (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 123456 104857600 2560 "
            + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let fields = ProcessStatistics.StatFields(stat)
        #expect(fields?.userTicks == 250)
        #expect(fields?.systemTicks == 75)
        #expect(fields?.startTicks == 123_456)
        #expect(fields?.virtualBytes == 104_857_600)
        #expect(fields?.residentPages == 2_560)
        #expect(ProcessStatistics.StatFields("4242 (truncated) S 1 2") == nil)
    }

    @Test func bootTimeComesFromBtime() {
        #expect(ProcessStatistics.bootTimeSeconds("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n") == 1_700_000_000)
        #expect(ProcessStatistics.bootTimeSeconds("cpu  1 2 3\n") == nil)
    }

    @Test func thisProcessHasFiguresThatMakeSense() {
        let s = ProcessStatistics.current()
        #expect(s.residentBytes > 1 << 20)
        #expect(s.virtualBytes >= s.residentBytes)
        #expect(s.openDescriptors >= 3 && s.openDescriptors <= s.maxDescriptors)
        #expect(s.startTimeSeconds > 1_600_000_000)
    }
}
