import Testing
import Engine
import MarketData
@testable import Application

/// Issue 22: the default write policy coalesces adaptively.
@Suite struct FlushDefaultsTests {
    @Test func theDefaultLingersOnlyWhileBusyWithinTheBudget() throws {
        let configuration = ServerConfiguration(symbols: try SymbolTable(list: "btcusdt"))
        #expect(configuration.flushLingerFollowsLoad, "auto is the default")
        #expect(configuration.flushLingerNanos == ServerConfiguration.defaultFlushBudgetNanos)
        #expect(ServerConfiguration.defaultFlushBudgetNanos == 1_000_000)
        // What the server builds from it: idle at first, so writes still go out every iteration.
        let linger = FlushLinger(windowNanos: configuration.flushLingerNanos,
                                 followsLoad: configuration.flushLingerFollowsLoad)
        #expect(!linger.isEnabled)
        #expect(!linger.holds(stopping: false))
    }

    @Test func windowsAreLoggedInMilliseconds() {
        #expect(TickwireServer.millisecondsText(1_000_000) == "1")
        #expect(TickwireServer.millisecondsText(2_000_000) == "2")
        #expect(TickwireServer.millisecondsText(500_000) == "0.5")
    }
}
